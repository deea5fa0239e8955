import Foundation
import Keyway
import KeywayTestSupport
import Testing

/// git's credential protocol (GitCredentialProtocol) and the helper's get/store/erase semantics
/// (GitCredentialHelper), on a plaintext store, and `keyway git-credential` as git runs it.
@Suite struct GitCredentialProtocolTests {
    @Test func readsEveryAttributeAndIgnoresUnknownOnes() throws {
        let text = """
            protocol=https
            host=example.com:8443
            path=org/repo.git
            username=alice
            password=pa ss\tword
            password_expiry_utc=1900000000
            oauth_refresh_token=refresh-1
            wwwauth[]=Basic realm="x"
            wwwauth[]=Bearer
            capability[]=authtype
            authtype=Bearer
            credential=token-1
            ephemeral=true
            state[]=a:1
            continue=1
            future_attribute=whatever
            \r
            protocol=ignored-after-the-blank-line

            """
        let message = try GitCredentialProtocol.parse(Array(text.utf8))
        #expect(message.protocolName == "https")
        #expect(message.host == "example.com:8443")
        #expect(message.path == "org/repo.git")
        #expect(message.username == "alice")
        #expect(message.password?.reveal() == "pa ss\tword")
        #expect(message.passwordExpiryUTC == 1_900_000_000)
        #expect(message.oauthRefreshToken?.reveal() == "refresh-1")
        #expect(message.wwwauth == ["Basic realm=\"x\"", "Bearer"])
        #expect(message.capabilities == ["authtype"])
        #expect(message.authtype == "Bearer")
        #expect(message.credential?.reveal() == "token-1")
        #expect(message.ephemeral && message.continueFlag)
        #expect(message.state == ["a:1"])
    }

    @Test func urlSetsTheFiveAttributesAsGitDoes() throws {
        let message = try GitCredentialProtocol.parse(
            Array("username=x\nurl=https://al%40ice:p%3Aw@host.example:99/a/b.git//\n".utf8))
        #expect(message.protocolName == "https")
        #expect(message.host == "host.example:99")
        #expect(message.username == "al@ice")
        #expect(message.password?.reveal() == "p:w")
        #expect(message.path == "a/b.git")
    }

    /// A url's percent-escapes cannot bring in what a line may not hold (a CR would reach git in get's answer).
    @Test func urlEscapesOfLineBreaksAndNULAreRefused() {
        for escape in ["%0D", "%0A", "%00"] {
            #expect(throws: KeywayError.self) {
                try GitCredentialProtocol.parse(Array("url=https://u\(escape)x@host/\n".utf8))
            }
            #expect(throws: KeywayError.self) {
                try GitCredentialProtocol.parse(Array("url=https://host/pa\(escape)th\n".utf8))
            }
        }
    }

    @Test func refusesNULCarriageReturnLongLinesAndLinesWithoutEquals() throws {
        let long = "host=" + String(repeating: "a", count: GitCredentialProtocol.maximumLineBytes)
        for (input, why) in [
            (Array("host=a\u{0}b\n".utf8), "contains a NUL byte"),
            (Array("password=a\rb\n".utf8), "contains a carriage return"),
            (Array((long + "\n").utf8), "longer than 65535 bytes"),
            (Array("password\n".utf8), "has no '='"),
            ([UInt8]("password=".utf8) + [0xFF, 0x0A], "not UTF-8"),
        ] {
            #expect {
                try GitCredentialProtocol.parse(input)
            } throws: { error in
                let error = error as! KeywayError
                return error.message.contains(why) && !error.message.contains("a\rb")
            }
        }
        // 65,535 bytes exactly is allowed.
        let longest = "host=" + String(repeating: "a", count: GitCredentialProtocol.maximumLineBytes - 5)
        #expect(try GitCredentialProtocol.parse(Array(longest.utf8)).host?.utf8.count == 65_530)
    }

    @Test func serializeWritesOneLinePerAttribute() {
        var message = GitCredentialMessage()
        message.protocolName = "https"
        message.host = "h"
        message.username = "u"
        message.password = Secret("p")
        message.passwordExpiryUTC = 5
        message.oauthRefreshToken = Secret("r")
        #expect(
            String(decoding: GitCredentialProtocol.serialize(message), as: UTF8.self)
                == "protocol=https\nhost=h\nusername=u\npassword=p\npassword_expiry_utc=5\noauth_refresh_token=r\n")
    }
}

@Suite struct GitCredentialHelperTests {
    let directory: TemporaryDirectory
    let store: PlaintextStore
    let helper: GitCredentialHelper

    init() throws {
        directory = try TemporaryDirectory(prefix: "keyway-gitcred")
        store = PlaintextStore(
            paths: KeywayPaths(configDirectory: directory.path + "/config"), strict: false, warn: nil)
        helper = GitCredentialHelper(store: store)
    }

    func message(_ text: String) throws -> GitCredentialMessage {
        try GitCredentialProtocol.parse(Array(text.utf8))
    }

    @Test func storesOneCredentialPerAccountInItsOwnApp() throws {
        try helper.store(try message("protocol=https\nhost=h.example\nusername=alice\npassword=pw-alice-1\n"), now: 100)
        try helper.store(try message("protocol=https\nhost=h.example\nusername=bob\npassword=pw-bob-1\n"), now: 101)
        try helper.store(try message("protocol=https\nhost=h.example\nusername=alice\npassword=pw-alice-2\n"), now: 102)
        let stored = try store.list(app: GitCredentialHelper.app)
        #expect(stored.map(\.id.profile) == ["https://alice@h.example", "https://bob@h.example"])
        #expect(stored.map(\.account) == ["alice", "bob"])
        #expect(stored[0].secret.reveal() == "pw-alice-2")
        #expect(stored[0].created == Timestamp(secondsSinceEpoch: 100), "an update keeps the creation time")
        #expect(try store.list(app: "git").isEmpty)
    }

    @Test func getChoosesTheMostRecentAndNamesTheOthers() throws {
        try helper.store(try message("protocol=https\nhost=h.example\nusername=alice\npassword=pw-alice\n"), now: 100)
        try helper.store(try message("protocol=https\nhost=h.example\nusername=bob\npassword=pw-bob\n"), now: 200)
        try helper.store(try message("protocol=https\nhost=other.example\nusername=carol\npassword=pw-c\n"), now: 300)
        let answer = try helper.get(try message("protocol=https\nhost=h.example\n"), now: 400)
        #expect(answer.message?.username == "bob")
        #expect(answer.message?.password?.reveal() == "pw-bob")
        #expect(answer.notes.count == 1)
        #expect(answer.notes.first?.contains("The others: alice.") == true, "\(answer.notes)")
        #expect(answer.notes.allSatisfy { !$0.contains("pw-") })
        // A username selects.
        let alice = try helper.get(try message("protocol=https\nhost=h.example\nusername=alice\n"), now: 400)
        #expect(alice.message?.password?.reveal() == "pw-alice")
        #expect(alice.notes.isEmpty)
        // Protocol and port are part of the match.
        #expect(try helper.get(try message("protocol=http\nhost=h.example\n"), now: 400).message == nil)
        #expect(try helper.get(try message("protocol=https\nhost=h.example:8443\n"), now: 400).message == nil)
        // The same second: the first profile in order, every time.
        try helper.store(try message("protocol=https\nhost=t.example\nusername=zed\npassword=pw-z\n"), now: 500)
        try helper.store(try message("protocol=https\nhost=t.example\nusername=amy\npassword=pw-a\n"), now: 500)
        #expect(try helper.get(try message("protocol=https\nhost=t.example\n"), now: 600).message?.username == "amy")
    }

    @Test func expiredPasswordsAreNotGivenAndRefreshTokensRoundTrip() throws {
        try helper.store(
            try message(
                "protocol=https\nhost=h.example\nusername=alice\npassword=pw-a\npassword_expiry_utc=1000\n"
                    + "oauth_refresh_token=rt-alice\n"), now: 100)
        let fresh = try helper.get(try message("protocol=https\nhost=h.example\n"), now: 999)
        #expect(fresh.message?.password?.reveal() == "pw-a")
        #expect(fresh.message?.passwordExpiryUTC == 1000)
        #expect(fresh.message?.oauthRefreshToken?.reveal() == "rt-alice")
        let late = try helper.get(try message("protocol=https\nhost=h.example\n"), now: 1000)
        #expect(late.message == nil)
        #expect(late.notes.first?.contains("expired") == true)
        // A credential already expired is not stored.
        #expect(
            try helper.store(
                try message("protocol=https\nhost=x.example\nusername=a\npassword=pw\npassword_expiry_utc=50\n"),
                now: 100) != nil)
        #expect(try store.list(app: GitCredentialHelper.app).count == 1)
        // The stored secret is not the password when a token comes with it, and scopes hold no value.
        let stored = try #require(try store.list(app: GitCredentialHelper.app).first)
        #expect(stored.scopes == ["encoding=base64-lines", "password_expiry_utc=1000"])
        #expect(stored.expires == Day(year: 1970, month: 1, day: 1))
    }

    @Test func passwordsGitAllowsButKeysDoNotAreKept() throws {
        for password in ["", "tab\there", " ", "zero\u{200B}width"] {
            try helper.store(try message("protocol=https\nhost=h.example\nusername=u\npassword=\(password)\n"), now: 1)
            let got = try helper.get(try message("protocol=https\nhost=h.example\n"), now: 2)
            #expect(got.message?.password?.reveal() == password)
        }
    }

    @Test func eraseRemovesOnlyTheEntryWhosePasswordMatches() throws {
        try helper.store(try message("protocol=https\nhost=h.example\nusername=alice\npassword=pw-alice\n"), now: 1)
        try helper.store(try message("protocol=https\nhost=h.example\nusername=bob\npassword=pw-bob\n"), now: 2)
        // A failed request with another password destroys nothing.
        #expect(try helper.erase(try message("protocol=https\nhost=h.example\nusername=alice\npassword=stale\n")) == 0)
        #expect(try store.list(app: GitCredentialHelper.app).count == 2)
        #expect(try helper.erase(try message("protocol=https\nhost=h.example\npassword=pw-alice\n")) == 1)
        #expect(try store.list(app: GitCredentialHelper.app).map(\.account) == ["bob"])
        // Nothing to say which entry: nothing goes.
        #expect(try helper.erase(try message("username=bob\n")) == 0)
        #expect(try helper.erase(try message("protocol=https\nhost=h.example\nusername=bob\n")) == 1)
    }

    @Test func incompleteOrEphemeralCredentialsAreNotStored() throws {
        #expect(try helper.store(try message("protocol=https\nhost=h\npassword=p\n")) != nil)
        #expect(try helper.store(try message("host=h\nusername=u\npassword=p\n")) != nil)
        #expect(try helper.store(try message("protocol=https\nhost=h\nusername=u\n")) != nil)
        #expect(try helper.store(try message("protocol=https\nhost=h\nusername=u\npassword=p\nephemeral=1\n")) != nil)
        #expect(try store.list(app: GitCredentialHelper.app).isEmpty)
    }

    @Test func authtypeCredentialsOnlyForAGitThatAnnouncesTheCapability() throws {
        try helper.store(
            try message(
                "capability[]=authtype\nprotocol=https\nhost=h\nusername=u\nauthtype=Bearer\ncredential=tok-1\n"),
            now: 1)
        #expect(try helper.get(try message("protocol=https\nhost=h\n"), now: 2).message == nil)
        let answer = try #require(
            try helper.get(try message("capability[]=authtype\nprotocol=https\nhost=h\n"), now: 2).message)
        #expect(answer.authtype == "Bearer" && answer.credential?.reveal() == "tok-1")
        #expect(
            String(decoding: GitCredentialProtocol.serialize(answer), as: UTF8.self).hasPrefix(
                "capability[]=authtype\n"))
    }

    @Test func pathsAndOddNamesAreUnambiguous() throws {
        try helper.store(
            try message("protocol=https\nhost=h\npath=a b/c.git\nusername=us@er:x/y\npassword=pw1\n"), now: 1)
        let stored = try #require(try store.list(app: GitCredentialHelper.app).first)
        #expect(stored.id.profile == "https://us%40er%3Ax%2Fy@h/a%20b/c.git")
        let answer = try helper.get(try message("protocol=https\nhost=h\npath=a b/c.git\n"), now: 2)
        #expect(answer.message?.username == "us@er:x/y")
        #expect(answer.message?.path == "a b/c.git")
        #expect(try helper.get(try message("protocol=https\nhost=h\npath=other.git\n"), now: 2).message == nil)
    }
}

/// `keyway git-credential` as git runs it: nothing on stdout for store and erase, unknown actions ignored, errors
/// on stderr without the value.
@Suite struct GitCredentialCLITests {
    @Test func actionsAsGitRunsThem() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let store = try sandbox.run(
            ["git-credential", "store"], stdin: "protocol=https\nhost=h.example\nusername=alice\npassword=pw-cli-1\n\n")
        #expect(store.status == 0 && store.stdout.isEmpty, "\(store)")
        let get = try sandbox.run(["git-credential", "get"], stdin: "protocol=https\nhost=h.example\n")
        #expect(get.stdout == "protocol=https\nhost=h.example\nusername=alice\npassword=pw-cli-1\n", "\(get)")
        // With an option it goes through the parser: the same answer.
        let parsed = try sandbox.run(
            ["git-credential", "--backend", "plaintext", "get"], stdin: "protocol=https\nhost=h.example\n",
            removing: ["KEYWAY_BACKEND"])
        #expect(parsed.stdout == get.stdout, "\(parsed)")
        let list = try sandbox.run(["list"])
        #expect(list.stdout.contains("git-credential  https://alice@h.example"), "\(list)")
        #expect(!list.stdout.contains("pw-cli-1"))
        let unknown = try sandbox.run(["git-credential", "frobnicate"], stdin: "protocol=https\n")
        #expect(unknown.status == 0 && unknown.stdout.isEmpty && unknown.stderr.isEmpty, "\(unknown)")
        let erase = try sandbox.run(
            ["git-credential", "erase"], stdin: "protocol=https\nhost=h.example\nusername=alice\npassword=pw-cli-1\n")
        #expect(erase.status == 0 && erase.stdout.isEmpty, "\(erase)")
        #expect(try sandbox.run(["git-credential", "get"], stdin: "protocol=https\nhost=h.example\n").stdout.isEmpty)
        let refused = try sandbox.run(["git-credential", "store"], stdin: "protocol=https\npassword=sec\u{0}ret\n")
        #expect(refused.status == 2 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.contains("contains a NUL byte") && !refused.stderr.contains("sec"), "\(refused)")
        let capability = try sandbox.run(["git-credential", "capability"])
        #expect(capability.stdout == "version 0\ncapability authtype\n")
        let install = try sandbox.run(["git-credential", "install"])
        #expect(install.stdout == "git config --global credential.helper '!keyway git-credential'\n")
    }

    @Test func installWritesTheLine() throws {
        let sandbox = try Sandbox()
        let config = sandbox.home + "/gitconfig"
        let result = try sandbox.run(["git-credential", "install", "--write"], env: ["GIT_CONFIG_GLOBAL": config])
        #expect(result.status == 0, "\(result)")
        #expect(try String(contentsOfFile: config, encoding: .utf8).contains("helper = !keyway git-credential"))
    }
}
