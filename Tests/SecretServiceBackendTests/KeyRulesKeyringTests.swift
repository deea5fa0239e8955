import Foundation
import KeywayCore
import KeywaySecretService
import KeywayTesting
import Testing

/// A keyring item another tool stored with a key breaking `APIKeyRules` is an error of the keyring layer, naming the
/// item and the rule, never the key (issue 10, item 11).
@Suite(
    .enabled(
        if: KeyringTests.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct KeyRulesKeyringTests {
    @Test(arguments: [("Vis1ble\nrfx_Second", "control character"), ("   ", "only whitespace"), ("Vis1ble\u{1}x", "control character")])
    func unusableKeyFromAnotherToolIsAnError(secret: String, rule: String) throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("rules")
        let (status, _) = try run(
            ["secret-tool", "store", "--label=from secret-tool", "service", app, "username", "default"], stdin: secret)
        try #require(status == 0)
        for read in [{ _ = try store.read(CredentialID(app: app)) }, { _ = try store.list(app: app) }] {
            let error = #expect(throws: KeywayError.self) { try read() }
            #expect(error?.code == .keyringFailure)
            #expect(error?.message.contains("holds a key that") == true && error?.message.contains(rule) == true, "\(String(describing: error))")
            #expect(error?.message.contains("Vis1ble") == false)
        }
        _ = try run(["secret-tool", "clear", "service", app, "username", "default"])
    }
}
