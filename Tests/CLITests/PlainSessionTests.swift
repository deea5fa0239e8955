import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// A Secret Service that declines the encrypted transfer session: libsecret then falls back to the unencrypted
/// "plain" algorithm on its own, and secrets would cross the bus in clear text. Keyway must refuse to read or store
/// through it. The provider is `FakeProvider` (plain-only) on a private bus; it serves one item whose secret must never
/// reach Keyway's output.
@Suite(.enabled(if: PrivateBus.available))
struct PlainSessionTests {
    static let secret = FakeProvider.oldSecret

    @Test func getRefusesAnUnencryptedTransferSession() throws {
        let provider = try FakeProvider(faults: "plain-only")
        let sandbox = try Sandbox()
        let get = try sandbox.run(["get", "fakeapp", "--backend", "keyring"], env: provider.environment)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("accepted no encrypted transfer session (negotiated: plain)"), "\(get)")
        #expect(get.stderr.contains("nothing was read or stored"), "\(get)")
        #expect(!get.stdout.contains(Self.secret) && !get.stderr.contains(Self.secret), "\(get)")
        #expect(provider.calls().contains("OpenSession plain"), "libsecret fell back to plain: \(provider.calls())")
        #expect(!provider.calls().contains("GetSecrets"), "no secret was asked for: \(provider.calls())")
    }

    @Test func loginRefusesAnUnencryptedTransferSession() throws {
        let provider = try FakeProvider(faults: "plain-only")
        let sandbox = try Sandbox()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: provider.environment, stdin: "new_key_0123456789\n")
        #expect(login.status == 2, "\(login)")
        #expect(login.stderr.contains("accepted no encrypted transfer session (negotiated: plain)"), "\(login)")
        #expect(!provider.calls().contains("CreateItem"), "nothing was sent to be stored: \(provider.calls())")
    }
}
