import Foundation
import KeywayCore
import KeywaySecretService
import KeywayTestSupport
import Synchronization
import Testing

/// A keyring item another tool stored with a key breaking `APIKeyRules` is an error of the keyring layer, naming the
/// item and the rule, never the key (issue 10, item 11).
@Suite(
    .enabled(
        if: KeyringTests.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct KeyRulesKeyringTests {
    @Test(arguments: [
        ("Vis1ble\nrfx_Second", "control character"), ("   ", "only whitespace"),
        ("Vis1ble\u{1}x", "control character"),
    ])
    func unusableKeyFromAnotherToolIsAnError(secret: String, rule: String) throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("rules")
        let (status, _) = try runRepeated(
            ["secret-tool", "store", "--label=from secret-tool", "service", app, "username", "default"], stdin: secret)
        try #require(status == 0)
        for read in [{ _ = try store.read(CredentialID(app: app)) }, { _ = try store.list(app: app) }] {
            let error = #expect(throws: KeywayError.self) { try read() }
            #expect(error?.code == .keyringFailure)
            #expect(
                error?.message.contains("holds a key that") == true && error?.message.contains(rule) == true,
                "\(String(describing: error))")
            #expect(error?.message.contains("Vis1ble") == false)
        }
        _ = try run(["secret-tool", "clear", "service", app, "username", "default"])
    }

    /// Issue 10 review (D12): one item another tool wrote, holding no usable key (binary, control characters), does
    /// not make a listing of every app fail; it is left out with a warning naming it, never silently.
    @Test(arguments: ["\\377\\376\\000\\001", "Vis1ble\\nrfx_Second"])
    func unusableForeignItemDoesNotHideTheOthers(printfSecret: String) throws {
        let warnings = Mutex<[KeywayWarning]>([])
        let store = SecretServiceStore(environment: .process(), warn: { w in warnings.withLock { $0.append(w) } })
        _ = try KeyringTests.store()
        let good = KeyringTests.app("rules-good")
        let bad = KeyringTests.app("rules-bad")
        try store.write(Credential(id: CredentialID(app: good), secret: Secret("rfx_listed0123456789")))
        // Bytes as printf writes them (a binary secret cannot pass through a Swift String).
        let (status, _) = try runRepeated(
            [
                "sh", "-c", "printf \"$0\" | secret-tool store --label='from another tool' service \"$1\" username bob",
                printfSecret, bad,
            ])
        try #require(status == 0)
        defer {
            _ = try? run(["secret-tool", "clear", "service", bad, "username", "bob"])
            _ = try? store.delete(CredentialID(app: good))
        }
        let all = try store.list()
        #expect(all.contains { $0.id.app == good }, "the other credentials are listed")
        #expect(!all.contains { $0.id.app == bad })
        // Other tests may plant unusable items in the shared test keyring at the same time: count this one's.
        let said = warnings.withLock { $0 }.filter { $0.code == .keyringItemUnusable && $0.message.contains(bad) }
        #expect(said.count == 1, "\(warnings.withLock { $0 })")
        #expect(throws: KeywayError.self, "reading that credential still says why") {
            _ = try store.read(CredentialID(app: bad, profile: "bob"))
        }
    }
}
