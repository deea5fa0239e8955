import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Issue 10, items 11, 8 (key size), 15, 20, 25: the key rules at every entry point, bounded input, no echo of
/// values that may be keys, masking, login warnings.

/// A bad key in one layer: how to plant it, and what `get` and `run` must say.
struct PlantedKey: CustomStringConvertible, Sendable {
    let app: String
    let layer: String
    let value: String
    /// What a visible part of the key looks like, which no output may contain.
    let visible: String
    let plant: @Sendable (Sandbox) throws -> [String: String]
    /// Words the error must contain (the place and the rule).
    let mentions: [String]

    var description: String { "\(app) \(layer) \(value.debugDescription)" }
}

/// JSON string text for `value`, with control characters escaped.
func jsonString(_ value: String) -> String { JSON.string(value).serialized(pretty: false) }

func keywayStore(_ key: String) -> String {
    """
    {"format": "keyway-credentials", "version": 1, "credentials": [
      {"app": "reflex", "profile": "default", "api_key": \(jsonString(key))}
    ]}
    """
}

let badValues: [(name: String, value: String, rule: String)] = [
    ("NUL", "rfx_Vis1ble\u{0}Tail22", "control character"),
    ("newline", "rfx_Vis1ble\nrfx_Second22", "control character"),
    ("tab", "rfx_Vis1ble\tTail22", "control character"),
    ("C1 control", "rfx_Vis1ble\u{85}Tail22", "control character"),
    ("whitespace only", "   ", "only whitespace"),
    ("zero-width only", "\u{200B}\u{FEFF}", "only whitespace"),
    // Review 3, D9: invisible-only keys, and format characters (Cf) anywhere, at every layer.
    ("Hangul fillers only", "\u{3164}\u{3164}\u{3164}\u{3164}\u{3164}\u{3164}", "only whitespace or invisible"),
    ("Braille blanks only", "\u{2800}\u{2800}\u{2800}\u{2800}\u{2800}\u{2800}", "only whitespace or invisible"),
    ("bidi override", "rfx_Vis1ble\u{202E}Tail22", "invisible formatting character"),
    ("bidi isolate", "rfx_Vis1ble\u{2066}Tail22\u{2069}", "invisible formatting character"),
    ("byte-order mark inside", "rfx_Vis1ble\u{FEFF}Tail22", "invisible formatting character"),
    ("soft hyphen", "rfx_Vis1ble\u{AD}Tail22", "invisible formatting character"),
]

func plantedKeys() -> [PlantedKey] {
    var cases: [PlantedKey] = []
    for bad in badValues {
        let rule = bad.rule
        // An environment variable cannot hold NUL.
        if !bad.value.contains("\u{0}") {
            cases.append(
                PlantedKey(
                    app: "reflex", layer: "env", value: bad.value, visible: "Vis1ble",
                    plant: { _ in ["REFLEX_API_KEY": bad.value] }, mentions: ["REFLEX_API_KEY", rule]))
        }
        cases.append(
            PlantedKey(
                app: "reflex", layer: "keyway store", value: bad.value, visible: "Vis1ble",
                plant: { s in
                    try makeFile(s.credentialsFile, keywayStore(bad.value))
                    return [:]
                }, mentions: ["credentials.json", "credentials[0].api_key", rule]))
        cases.append(
            PlantedKey(
                app: "reflex", layer: "reflex json", value: bad.value, visible: "Vis1ble",
                plant: { s in
                    try makeFile(s.home + "/.config/reflex/credentials.json", "{\"api_key\": \(jsonString(bad.value))}")
                    return [:]
                }, mentions: [".config/reflex/credentials.json", "api_key", rule]))
        cases.append(
            PlantedKey(
                app: "fluxloop", layer: "fluxloop yaml", value: bad.value, visible: "Vis1ble",
                plant: { s in
                    let escaped = bad.value.replacingOccurrences(of: "\u{0}", with: "\\0")
                        .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
                        // A raw NEL is a line break in YAML (folded into a space): plant the character itself.
                        .replacingOccurrences(of: "\u{85}", with: "\\u0085")
                    try makeFile(
                        s.home + "/.fluxloop/credentials", "profiles:\n  default:\n    api_key: \"\(escaped)\"\n")
                    return [:]
                }, mentions: [".fluxloop/credentials", "profiles.default.api_key", rule]))
        // A raw key file: surrounding whitespace is removed by definition, and several lines have their own error.
        if !bad.value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, !bad.value.contains(where: \.isNewline) {
            cases.append(
                PlantedKey(
                    app: "reflow", layer: "raw key file", value: bad.value, visible: "Vis1ble",
                    plant: { s in
                        try makeFile(s.home + "/.reflow/api.key", bad.value + "\n")
                        return [:]
                    }, mentions: [".reflow/api.key", rule]))
        }
    }
    // An empty key in Keyway's own store: Keyway never writes one.
    cases.append(
        PlantedKey(
            app: "reflex", layer: "keyway store", value: "", visible: "\u{0}",
            plant: { s in
                try makeFile(s.credentialsFile, keywayStore(""))
                return [:]
            }, mentions: ["credentials[0].api_key", "is empty"]))
    return cases
}

@Suite struct KeyRulesLayerTests {
    /// `get` and `run` agree: both refuse with exit 2, naming the place and the rule and never the key.
    @Test(arguments: plantedKeys())
    func getAndRunRefuseAnUnusableKey(_ planted: PlantedKey) throws {
        let s = try Sandbox(backend: "plaintext")
        let env = try planted.plant(s)
        let get = try s.run(["get", planted.app], env: env)
        #expect(get.status == 2, "\(planted): \(get)")
        #expect(get.stdout == "", "\(planted): nothing on stdout")
        let run = try s.run(["run", planted.app, "--env", "K", "--", "/bin/sh", "-c", "echo ran \"$K\""], env: env)
        #expect(run.status == 2, "\(planted): \(run)")
        #expect(!run.stdout.contains("ran"), "\(planted): the command was not run")
        #expect(run.stderr == get.stderr, "\(planted): get and run say the same")
        for word in planted.mentions {
            #expect(get.stderr.contains(word), "\(planted): names \(word): \(get.stderr)")
        }
        #expect(get.stderr.hasPrefix("Error: "), "\(planted): \(get.stderr)")
        #expect(!get.stderr.contains(planted.visible), "\(planted): the key is not in the message")
        // resolve reports the layer as failed; status does not show the key either.
        let resolve = try s.run(["resolve", planted.app, "--json"], env: env)
        #expect(resolve.status == 2, "\(planted): \(resolve)")
        #expect(!resolve.stdout.contains(planted.visible) && !resolve.stderr.contains(planted.visible))
        let layers = try JSON.parse(resolve.stdout)["layers"]
        guard case .array(let items)? = layers else {
            Issue.record("\(planted): no layers: \(resolve)")
            return
        }
        #expect(items.contains { $0["status"] == .string("error") }, "\(planted): \(resolve.stdout)")
    }

    /// The rules apply to `--api-key` too (it has its own empty-key message).
    @Test func apiKeyFlagObeysTheRules() throws {
        let s = try Sandbox(backend: "plaintext")
        for (value, rule) in [
            ("rfx_Vis1ble\nSecond", "contains a control character (such as a newline, carriage return, tab or NUL)"),
            ("  ", "is only whitespace or invisible characters"),
        ] {
            let get = try s.run(["get", "reflex", "--api-key", value])
            #expect(get.status == 2, "\(get)")
            #expect(get.stdout == "")
            #expect(get.stderr == "Error: The key given with --api-key \(rule).\n", "\(get.stderr)")
        }
    }

    /// An empty variable still counts as unset (documented), the same for get and run.
    @Test func emptyVariableCountsAsUnset() throws {
        let s = try Sandbox(backend: "plaintext")
        #expect(try s.run(["login", "reflex", "--api-key", reflexKey]).status == 0)
        let get = try s.run(["get", "reflex"], env: ["REFLEX_API_KEY": ""])
        #expect(get.status == 0 && get.stdout == reflexKey + "\n", "\(get)")
        let run = try s.run(
            ["run", "reflex", "--no-mask", "--", "/bin/sh", "-c", "printf %s \"$REFLEX_API_KEY\""],
            env: ["REFLEX_API_KEY": ""])
        #expect(run.status == 0 && run.stdout == reflexKey, "\(run)")
    }

    /// A hand-written store holding a 100 KB key: get and list fail clearly and fast, nothing is printed; the other
    /// credentials stay usable, and `logout` removes the entry.
    @Test func oversizedKeyInTheStoreIsAnError() throws {
        let s = try Sandbox(backend: "plaintext")
        let big = "rfx_" + String(repeating: "Q7", count: 50_000)
        try makeFile(
            s.credentialsFile,
            """
            {"format": "keyway-credentials", "version": 1, "credentials": [
              {"app": "other", "profile": "default", "api_key": "rfx_fine000011112222"},
              {"app": "reflex", "profile": "default", "api_key": "\(big)"}
            ]}
            """)
        let start = Date()
        for arguments in [["get", "reflex"], ["run", "reflex", "--", "true"], ["list"], ["list", "--json"]] {
            let result = try s.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.stderr)")
            if arguments.contains("--json") {
                // --json always prints an object: the error's code and message (issue 10, item 21).
                let json = try JSON.parse(result.stdout)
                #expect(json["error"]?["code"] == .string("malformed-file"), "\(arguments): \(result.stdout)")
            } else {
                #expect(result.stdout == "", "\(arguments)")
            }
            #expect(
                result.stderr == "Error: \(s.credentialsFile): credentials[1].api_key (reflex (profile default)) holds "
                    + "a key that is longer than 65536 bytes (64 KiB), the most a key may be. The file was left "
                    + "untouched; remove the entry with `keyway logout reflex` (the other credentials stay usable) or "
                    + "fix the file.\n",
                "\(arguments): \(result.stderr)")
        }
        #expect(Date().timeIntervalSince(start) < 10, "four runs on a 100 KB file take well under 10 s")
        let other = try s.run(["get", "other"])
        #expect(other.status == 0 && other.stdout == "rfx_fine000011112222\n", "\(other)")
        let logout = try s.run(["logout", "reflex"])
        #expect(logout.status == 0, "\(logout)")
        let list = try s.run(["list"])
        #expect(list.status == 0 && list.stdout.contains("other") && !list.stdout.contains("reflex"), "\(list)")
    }
}

@Suite struct LoginKeyRulesTests {
    @Test(arguments: ["   ", "\u{A0}\u{200B}", " \t "])
    func whitespaceOnlyKeyIsRefused(_ key: String) throws {
        let s = try Sandbox(backend: "plaintext")
        for run in [
            try s.run(["login", "reflex"], stdin: key + "\n"), try s.run(["login", "reflex", "--api-key", key]),
        ] {
            #expect(run.status == 2, "\(run)")
            #expect(run.stderr.hasPrefix("Error: The API key "), "\(run)")
            #expect(run.stderr.contains(key.contains("\t") ? "control character" : "is only whitespace"), "\(run)")
        }
        #expect(try s.run(["list", "--json"]).stdout.contains("\"credentials\": []"), "nothing was stored")
    }

    @Test(arguments: [
        ("rfx_Abcdef0123456789 ", "trailing whitespace"),
        (" rfx_Abcdef0123456789", "leading whitespace"),
        ("rfx_Abcdef\u{3164}0123456789", "an invisible character (such as U+3164, U+034F or a variation selector)"),
        ("rfx_Abcdef0123456789\u{FE0F}", "an invisible character (such as U+3164, U+034F or a variation selector)"),
        ("rfx_Abcdef\u{A0}0123456789", "a non-breaking or other non-ASCII space"),
    ])
    func invisibleCharactersWarn(key: String, what: String) throws {
        let s = try Sandbox(backend: "plaintext")
        // An app without prefix rules, so this is the only warning.
        let login = try s.run(["login", "tool", "--api-key", key])
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stderr == "Warning: The API key contains \(what), which cannot be seen when it is printed; it was "
                + "stored as given. If it was pasted with them by mistake, log in again with the key alone.\n",
            "\(login.stderr)")
        #expect(try s.run(["get", "tool"]).stdout == key + "\n", "stored as given")
        let plain = try s.run(["login", "tool", "--api-key", "rfx_Abcdef0123456789"])
        #expect(plain.stderr == "", "no warning for a plain key")
    }

    @Test func keyOverTheLimitIsRefused() throws {
        let s = try Sandbox(backend: "plaintext")
        let message =
            "Error: The API key is longer than 65536 bytes (64 KiB), the most a key may be; nothing was stored.\n"
        let atLimit = "rfx_" + String(repeating: "a", count: APIKeyRules.maximumBytes - 4)
        let over = atLimit + "b"
        let flag = try s.run(["login", "reflex", "--api-key", over])
        #expect(flag.status == 2 && flag.stderr == message, "\(flag)")
        let stdin = try s.run(["login", "reflex"], stdin: over + "\n")
        #expect(stdin.status == 2 && stdin.stderr == message, "\(stdin.status) \(stdin.stderr)")
        // Exactly the limit is accepted, with a trailing CRLF too.
        let exact = try s.run(["login", "reflex"], stdin: atLimit + "\r\n")
        #expect(exact.status == 0, "\(exact.status) \(exact.stderr)")
        #expect(try s.run(["get", "reflex"]).stdout == atLimit + "\n")
        #expect(try s.run(["list"]).status == 0)
    }

    /// Standard input is read only up to the limit: an endless stream is refused at once, in little memory.
    @Test func endlessStandardInputIsRefusedWithoutReadingIt() throws {
        let s = try Sandbox(backend: "plaintext")
        let start = Date()
        let result = try runProcess(
            "/bin/sh",
            ["-c", "ulimit -v 1000000; exec timeout -s KILL 20 \"$0\" login reflex < /dev/zero", keywayBinary],
            environment: s.environment)
        #expect(result.status == 2, "\(result)")
        #expect(
            result.stderr
                == "Error: The API key is longer than 65536 bytes (64 KiB), the most a key may be; nothing was stored.\n"
        )
        #expect(Date().timeIntervalSince(start) < 20)
    }

    /// A Reminix client token is short-lived and browser-side only (its page): login stores it but says so.
    @Test func reminixClientTokenWarns() throws {
        let s = try Sandbox(backend: "plaintext")
        let login = try s.run(["login", "reminix", "--api-key", "reminix_ct_Ab12Cd34Ef56Gh78Ij90"])
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stderr == "Warning: This is a Reminix client token (reminix_ct_): client tokens are short-lived "
                + "(typically 1 hour) and meant for browser-side calls only, so a stored one soon stops working. For "
                + "the CLI, scripts and automation use a personal access token (reminix_pat_); for server-side calls, "
                + "an API key (reminix_sk_).\n", "\(login.stderr)")
        #expect(login.stdout.contains("(client token)"))
        let pat = try s.run(["login", "reminix", "--api-key", "reminix_pat_Ab12Cd34Ef56Gh78Ij90"])
        #expect(pat.status == 0 && pat.stderr == "", "\(pat)")
    }

    @Test func pastExpiryWarns() throws {
        let s = try Sandbox(backend: "plaintext")
        let login = try s.run(["login", "reflex", "--api-key", reflexKey, "--expires", "2020-01-31"])
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stderr == "Warning: The expiry date 2020-01-31 is already past, so this key has expired and reflex "
                + "will refuse it; it was stored anyway. Check the date, or store a current key.\n", "\(login.stderr)")
        let future = try s.run(["login", "reflex", "--api-key", reflexKey, "--expires", "2099-01-31"])
        #expect(future.stderr == "", "\(future)")
    }
}

@Suite struct NoEchoTests {
    /// A key given as a positional argument (forgetting --api-key) is not printed back.
    @Test func extraArgumentIsNotEchoed() throws {
        let s = try Sandbox(backend: "plaintext")
        let key = "rfx_S3cretValue9f8e7d6c5b4a"
        for arguments in [
            ["login", "reflex", key], ["get", "reflex", key], ["run", "reflex", key, "--", "true"], [key],
            ["login", "reflex", key, "extra"], ["login", "reflex", "--strict=\(key)"],
            ["login", "reflex", "-k\(key)"], ["login", "reflex", "--expires", key, "--api-key", reflexKey],
            ["get", "reflex", "--backend", key],
        ] {
            let result = try s.run(arguments)
            #expect(result.status == 64 || result.status == 2, "\(arguments): \(result)")
            #expect(
                !result.stderr.contains("S3cret") && !result.stdout.contains("S3cret"), "\(arguments): \(result.stderr)"
            )
            #expect(result.stderr.hasPrefix("Error: "), "\(arguments): \(result.stderr)")
        }
        let login = try s.run(["login", "reflex", key])
        #expect(
            login.stderr.hasPrefix(
                "Error: Unexpected argument (not shown): it may be a key. Give a key with --api-key, or to "
                    + "`keyway login` on standard input or at its prompt.\nUsage: keyway login <app>"),
            "\(login.stderr)")
        // Typos that cannot be keys are still shown.
        #expect(try s.run(["logn", "reflex"]).stderr.hasPrefix("Error: 2 unexpected arguments: 'logn', 'reflex'\n"))
        #expect(
            try s.run(["login", "reflex", "--api-kye", "x"]).stderr.hasPrefix(
                "Error: Unknown option '--api-kye'. Did you mean '--api-key'?\n"))
    }

    /// App spec errors name the field and the expected form, never a value from the file.
    @Test func appSpecErrorsDoNotQuoteValues() throws {
        let key = "rfx_S3cretValue9f8e7d6c5b4a"
        for (text, message) in [
            (
                "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"\(key)\"}]}",
                "sources[0].type must be one of json, raw, yaml-profiles, yaml, ini, toml, npmrc, keyring, git-root, store."
            ),
            (
                "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"store\"}], \"\(key)\": 1}",
                "a field whose name is not shown (it does not look like a field name) is not a known field"
            ),
            (
                "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"store\", \"\(key)\": \"p\"}]}",
                "sources[0]: a field whose name is not shown (it does not look like a field name) is not a field of a store source"
            ),
        ] {
            let s = try Sandbox(backend: "plaintext")
            let file = s.configDirectory + "/apps/x.json"
            try makeFile(file, text)
            let result = try s.run(["get", "anything"])
            #expect(result.status == 2)
            #expect(result.stderr.hasPrefix("Error: App spec \(file): \(message)"), "\(result.stderr)")
            #expect(!result.stderr.contains("S3cret"), "\(result.stderr)")
        }
    }
}

@Suite struct MaskingOutputTests {
    /// The known prefix stays whole and a 4-character tail shows (issue: `flux_prod...j`, `reminix_pa...k`); a key
    /// too short for that shows nothing.
    @Test func listAndResolveKeepTheKnownPrefix() throws {
        let s = try Sandbox(backend: "plaintext")
        for (app, profile, key) in [
            ("fluxloop", "default", "flux_prod_Ab12Cd34Ef56Gh7j"),
            ("reminix", "default", "reminix_pat_Ab12Cd34Ef56Gh78k"),
            ("reminix", "short", "reminix_pat_Ab1c2"),
        ] {
            let login = try s.run(["login", app, "--profile", profile, "--api-key", key])
            #expect(login.status == 0, "\(login)")
        }
        let expected = ["flux_prod_...Gh7j", "reminix_pat_...h78k", "***"]
        let json = try JSON.parse(try s.run(["list", "--json"]).stdout)
        guard case .array(let items)? = json["credentials"] else {
            Issue.record("no credentials: \(json)")
            return
        }
        #expect(items.map { $0["masked"]?.stringValue ?? "" } == expected)
        let list = try s.run(["list"]).stdout
        for masked in expected { #expect(list.contains("  \(masked)"), "\(list)") }
        let resolve = try s.run(["resolve", "fluxloop", "--json"])
        #expect(try JSON.parse(resolve.stdout)["masked"] == .string("flux_prod_...Gh7j"), "\(resolve.stdout)")
        let reminix = try s.run(["resolve", "reminix", "--json"])
        #expect(try JSON.parse(reminix.stdout)["masked"] == .string("reminix_pat_...h78k"), "\(reminix.stdout)")
        let status = try s.run(["status", "reminix", "--profile", "default"])
        #expect(status.stdout.contains("reminix_pat_...h78k"), "\(status.stdout)")
    }
}
