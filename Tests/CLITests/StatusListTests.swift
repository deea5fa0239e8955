import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// A date `days` from today (local time), as YYYY-MM-DD.
func dayFromToday(_ days: Int) -> String {
    let today = Day.today()
    var ordinal = today.ordinal + days
    // Convert back through Timestamp's civil conversion.
    ordinal = max(ordinal, 0)
    return Timestamp(secondsSinceEpoch: Int64(ordinal) * 86400).utcDay.description
}

@Suite struct StatusTests {
    @Test func textShowsEverythingMasked() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let expires = dayFromToday(84)
        let login = try sandbox.run(
            [
                "login", "fluxloop", "--account", "john@example.com", "--org", "Acme Inc", "--scopes", "read, upload,",
                "--expires", expires,
            ], stdin: "flux_dev_abc123def456ghi789jkl012mno34\n")
        #expect(login.status == 0, "\(login)")
        let status = try sandbox.run(["status", "fluxloop"])
        #expect(status.status == 0, "\(status)")
        #expect(status.stderr == "")
        let lines = status.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "fluxloop (profile default)")
        #expect(lines.contains("  API Key:      flux_dev_...no34"))
        #expect(lines.contains("  Source:       plaintext store \(sandbox.credentialsFile)"))
        #expect(lines.contains("  Account:      john@example.com"))
        #expect(lines.contains("  Organization: Acme Inc"))
        #expect(lines.contains("  Scopes:       read, upload"))
        #expect(lines.contains("  Expires:      \(expires) (84 days remaining)"))
        #expect(!status.stdout.contains("abc123def456"))
    }

    @Test func jsonFields() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let expires = dayFromToday(10)
        #expect(
            try sandbox.run([
                "login", "reactor", "--api-key", "rp_0123456789abcdefghij", "--account", "ops",
                "--org", "your-org", "--scopes", "push", "--expires", expires,
            ]).status == 0)
        let status = try sandbox.run(["status", "reactor", "--json"])
        #expect(status.status == 0, "\(status)")
        let json = try JSON.parse(status.stdout)
        guard case .array(let entries)? = json["credentials"], let entry = entries.first else {
            Issue.record("\(status)")
            return
        }
        #expect(entries.count == 1)
        #expect(entry["app"] == .string("reactor"))
        #expect(entry["profile"] == .string("default"))
        #expect(entry["masked"] == .string("rp_...ghij"))
        #expect(entry["source"]?["kind"] == .string("store"))
        #expect(entry["source"]?["name"] == .string("plaintext"))
        #expect(entry["source"]?["location"] == .string(sandbox.credentialsFile))
        #expect(entry["account"] == .string("ops"))
        #expect(entry["organization"] == .string("your-org"))
        #expect(entry["scopes"] == .array([.string("push")]))
        #expect(entry["expires"] == .string(expires))
        #expect(entry["days_remaining"] == .int(10))
        #expect(entry["expired"] == .bool(false))
        #expect(entry["created"]?.stringValue.flatMap(Timestamp.init(parsing:)) != nil)
        #expect(entry["updated"]?.stringValue.flatMap(Timestamp.init(parsing:)) != nil)
        guard case .array(let warnings)? = entry["warnings"] else {
            Issue.record("no warnings array")
            return
        }
        #expect(warnings.first?["code"] == .string("expires-soon"))
        #expect(json["warnings"] == .array([]))
        #expect(!status.stdout.contains("rp_0123456789abcdefghij"))
    }

    @Test func expiredExitsOne() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let yesterday = dayFromToday(-1)
        #expect(try sandbox.run(["login", "old", "--api-key", "old-key-123456", "--expires", yesterday]).status == 0)
        #expect(try sandbox.run(["login", "fresh", "--api-key", "fresh-key-123456"]).status == 0)
        let status = try sandbox.run(["status"])
        #expect(status.status == 1, "\(status)")
        #expect(status.stdout.contains("  Expires:      \(yesterday) (expired 1 day ago)"))
        #expect(
            status.stdout.contains(
                "  Warning:      This key expired on \(yesterday); store a new one with keyway login."))
        #expect(try sandbox.run(["status", "fresh"]).status == 0, "only the credentials shown count")
        let json = try sandbox.run(["status", "old", "--json"])
        #expect(json.status == 1)
        guard case .array(let entries)? = try JSON.parse(json.stdout)["credentials"] else {
            Issue.record("no credentials array: \(json)")
            return
        }
        #expect(entries.map { $0["app"] } == [.string("old")], "\(json)")
        #expect(entries.first?["expired"] == .bool(true), "\(json)")
    }

    @Test func environmentSuppliedCredentials() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_storedstoredstored0000"]).status == 0)
        let env = ["REFLEX_API_KEY": "rfx_fromenvfromenvfromenv111"]
        let status = try sandbox.run(["status", "reflex", "--json"], env: env)
        #expect(status.status == 0, "\(status)")
        let json = try JSON.parse(status.stdout)
        guard case .array(let entries)? = json["credentials"] else {
            Issue.record("\(status)")
            return
        }
        #expect(entries.count == 2)
        #expect(entries[0]["source"]?["kind"] == .string("env"))
        #expect(entries[0]["source"]?["name"] == .string("REFLEX_API_KEY"))
        #expect(entries[0]["masked"] == .string("rfx_...v111"))
        #expect(entries[1]["source"]?["kind"] == .string("store"))
        guard case .array(let storeWarnings)? = entries[1]["warnings"] else {
            Issue.record("no warnings array on the store's entry: \(status)")
            return
        }
        #expect(storeWarnings.compactMap { $0["code"]?.stringValue } == ["env-overrides-store"], "\(status)")
        let onlyEnv = try sandbox.run(["status", "newapp"], env: ["NEWAPP_API_KEY": "newapp-key-0123456"])
        #expect(onlyEnv.status == 0)
        #expect(onlyEnv.stdout.contains("  Source:       environment variable NEWAPP_API_KEY"))
        #expect(!onlyEnv.stdout.contains("newapp-key-0123456"))
    }

    @Test func nothingFound() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let one = try sandbox.run(["status", "ghost"])
        #expect(one.status == 1)
        #expect(one.stderr == "No credential for ghost.\n")
        let all = try sandbox.run(["status"])
        #expect(all.status == 1)
        #expect(all.stderr == "No credentials found in the plaintext store (\(sandbox.credentialsFile)).\n")
        let json = try sandbox.run(["status", "--json"])
        #expect(json.status == 1)
        #expect(try JSON.parse(json.stdout)["credentials"] == .array([]))
    }

    @Test func permissionWarningsAppearInJSON() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "a", "--api-key", "key-aaaaaaaaaaaa"]).status == 0)
        #expect(chmod(sandbox.credentialsFile, 0o604) == 0)
        let status = try sandbox.run(["status", "--json"])
        #expect(status.status == 0)
        let warnings = try JSON.parse(status.stdout)["warnings"]
        guard case .array(let items)? = warnings else {
            Issue.record("\(status)")
            return
        }
        #expect(items.count == 1)
        #expect(items.first?["code"] == .string("insecure-permissions"))
        #expect(status.stderr.hasPrefix("Warning: "))
    }
}

@Suite struct ListTests {
    @Test func textAndJSON() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let empty = try sandbox.run(["list"])
        #expect(empty.status == 0)
        #expect(empty.stdout == "No credentials stored in the plaintext store (\(sandbox.credentialsFile)).\n")
        #expect(try sandbox.run(["login", "reflex", "--api-key", reflexKey, "--account", "me@x.io"]).status == 0)
        #expect(try sandbox.run(["login", "app", "--profile", "p2", "--api-key", "0123456789abcdef0123"]).status == 0)
        let text = try sandbox.run(["list"])
        #expect(
            text.stdout == """
                APP     PROFILE  KEY          ACCOUNT  EXPIRES  BACKEND    IN USE
                app     p2       012...123                      plaintext  yes
                reflex  default  rfx_...b1a0  me@x.io           plaintext  yes

                """)
        let listed = try sandbox.run(["list", "--json"])
        #expect(listed.status == 0, "\(listed)")
        let json = try JSON.parse(listed.stdout)
        #expect(json["backend"] == .string("plaintext"))
        #expect(json["location"] == .string(sandbox.credentialsFile))
        guard case .array(let items)? = json["credentials"] else {
            Issue.record("no array")
            return
        }
        #expect(items.map { $0["app"] } == [.string("app"), .string("reflex")])
        #expect(items[1]["masked"] == .string("rfx_...b1a0"))
        #expect(items[1]["account"] == .string("me@x.io"))
        #expect(!listed.stdout.contains(reflexKey) && !listed.stderr.contains(reflexKey), "list --json masks keys")
    }

    @Test func reLoginWithTheSameKeyKeepsItsRecord() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "a", "--api-key", "same-key-0123456", "--account", "acct"]).status == 0)
        let first = try JSON.parse(try sandbox.run(["list", "--json"]).stdout)["credentials"]
        try waitForTheNextSecond()  // the record's times are kept to the second
        #expect(try sandbox.run(["login", "a", "--api-key", "same-key-0123456", "--org", "org"]).status == 0)
        let second = try JSON.parse(try sandbox.run(["list", "--json"]).stdout)
        guard case .array(let before)? = first, case .array(let after)? = second["credentials"] else {
            Issue.record("no array")
            return
        }
        #expect(after[0]["account"] == .string("acct"), "kept")
        #expect(after[0]["organization"] == .string("org"), "added")
        #expect(after[0]["created"] == before[0]["created"])
        #expect(after[0]["updated"] != before[0]["updated"])
        #expect(try sandbox.run(["login", "a", "--api-key", "a-new-key-9876543"]).status == 0)
        let third = try JSON.parse(try sandbox.run(["list", "--json"]).stdout)
        guard case .array(let replaced)? = third["credentials"] else {
            Issue.record("no array: \(third)")
            return
        }
        #expect(replaced[0]["account"] == .null, "a different key starts a new record")
    }
}
