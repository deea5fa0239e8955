import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayCore

/// The INI, `.npmrc` and TOML readers: what they read, and what they refuse (naming the line, quoting nothing).
@Suite struct ToolFileParserTests {
    func iniError(_ text: String) -> LineSyntaxError? {
        do throws(LineSyntaxError) {
            _ = try INI.parse(text)
            return nil
        } catch { return error }
    }

    func tomlError(_ text: String) -> LineSyntaxError? {
        do throws(LineSyntaxError) {
            _ = try TOML.parse(text)
            return nil
        } catch { return error }
    }

    @Test func iniReadsSectionsCommentsAndCRLF() throws {
        let text =
            "; a comment\r\n# another\r\n[distutils]\r\nindex-servers = pypi\r\n\r\n[pypi]\r\n"
            + "username: __token__\r\npassword =  pypi-AgEIcHlwaS5vcmc \r\n"
        let root = try INI.parse(text)
        #expect(root["pypi"]?["password"] == .string("pypi-AgEIcHlwaS5vcmc"))
        #expect(root["pypi"]?["username"] == .string("__token__"))
        #expect(root["distutils"]?["index-servers"] == .string("pypi"))
        #expect(try INI.parse("[auth]\ntoken=a=b\n")["auth"]?["token"] == .string("a=b"), "the first = divides")
    }

    @Test(arguments: [
        ("[auth]\ntoken = \"sntrys_secret\"\n", 2, "quoted value"),
        ("[auth]\ntoken = 'sntrys_secret'\n", 2, "quoted value"),
        ("[auth]\ntoken = sntrys_secret # note\n", 2, "'#'"),
        ("[auth]\ntoken = sntrys;secret\n", 2, "';'"),
        ("[auth]\ntoken = a\\b\n", 2, "'\\'"),
        ("token = sntrys_secret\n", 1, "before the first [section]"),
        ("[auth]\ntoken = one\n  continued\n", 3, "indented line"),
        ("[auth]\ntoken = one\ntoken = sntrys_secret\n", 3, "second time"),
        ("[auth]\nToken = one\ntoken = sntrys_secret\n", 3, "ignores case"),
        ("[auth]\n[auth]\n", 2, "second time"),
        ("[DEFAULT]\npassword = x\n", 1, "[DEFAULT]"),
        ("[auth\n", 1, "does not end with ']'"),
        ("[auth]\nsntrys_secret\n", 2, "neither"),
        ("[auth]\ntoken = sntrys_\rsecret\n", 2, "carriage return"),
        ("[auth]\n= sntrys_secret\n", 2, "without a name"),
    ])
    func iniRefuses(text: String, line: Int, reason: String) throws {
        let error = try #require(iniError(text))
        #expect(error.line == line)
        #expect(error.reason.contains(reason), "\(error)")
        #expect(!error.description.contains("secret"), "errors quote nothing")
    }

    @Test func tomlReadsTheStripeLayout() throws {
        let text =
            "color = \"\"\r\n\r\n[default]\r\n  account_id = 'acct_1'\r\n  device_name = \"a \\\"b\\\" \\u00e9\"\r\n"
            + "  test_mode_api_key = \"rk_test_51abc\" # comment\r\n  count = 1_000\r\n  on = true\r\n"
            + "[\"other project\"]\r\ntest_mode_api_key = 'sk_test_x'\r\n"
        let root = try TOML.parse(text)
        #expect(root["color"] == .string(""))
        #expect(root["default"]?["account_id"] == .string("acct_1"))
        #expect(root["default"]?["device_name"] == .string("a \"b\" é"))
        #expect(root["default"]?["test_mode_api_key"] == .string("rk_test_51abc"))
        #expect(root["default"]?["count"] == .number("1000"))
        #expect(root["default"]?["on"] == .bool(true))
        #expect(root["other project"]?["test_mode_api_key"] == .string("sk_test_x"))
    }

    @Test(arguments: [
        ("[default]\nkey = \"sk_secret\"\nkey = \"sk_secret\"\n", 3, "second time"),
        ("[default]\n[default]\n", 2, "second time"),
        ("default = 1\n[default]\n", 2, "second time"),
        ("[a.b]\n", 1, "dotted table"),
        ("[[a]]\n", 1, "array of tables"),
        ("a.b = \"sk_secret\"\n", 1, "dotted key"),
        ("k = [\"sk_secret\"]\n", 1, "does not read"),
        ("k = { a = 1 }\n", 1, "does not read"),
        ("k = 1.5\n", 1, "does not read"),
        ("k = 2024-01-01\n", 1, "does not read"),
        ("k = \"\"\"sk_secret\"\"\"\n", 1, "multi-line"),
        ("k = \"sk_secret\n", 1, "closing quote"),
        ("k = \"sk_\\qsecret\"\n", 1, "escape"),
        ("k = \"sk_\\u+041secret\"\n", 1, "escape"),
        ("k = \"sk_secret\" x\n", 1, "text after the value"),
        ("k = sk_secret\n", 1, "does not read"),
        ("k \"sk_secret\"\n", 1, "neither"),
        ("[default\n", 1, "does not end with ']'"),
        ("k = 012\n", 1, "does not read"),
    ])
    func tomlRefuses(text: String, line: Int, reason: String) throws {
        let error = try #require(tomlError(text))
        #expect(error.line == line)
        #expect(error.reason.contains(reason), "\(error)")
        #expect(!error.description.contains("secret"), "errors quote nothing")
    }

    @Test func npmrcReadsAsNpmDoes() throws {
        let env = Environment(["TOKEN": "npm_fromenv", "EMPTY": ""])
        let text =
            "; comment\r\n# comment\r\nregistry = https://r.example/\r\n"
            + "//a/:_authToken=npm_plain ; trailing comment\r\n//b/:_authToken=\"npm_\\u0041quoted\"\r\n"
            + "//c/:_authToken='npm_single'\r\n//d/:_authToken=npm_esc\\#aped\r\nflag\r\n"
            + "//${TOKEN}/:x=1\r\n[section]\r\n//e/:_authToken=npm_nested\r\n"
        let entries = try NPMRC.parse(text, environment: env)
        func value(_ name: String) -> JSON? { entries.first { $0.name == name }?.value }
        #expect(value("registry") == .string("https://r.example/"))
        #expect(value("//a/:_authToken") == .string("npm_plain"))
        #expect(value("//b/:_authToken") == .string("npm_Aquoted"))
        #expect(value("//c/:_authToken") == .string("npm_single"))
        #expect(value("//d/:_authToken") == .string("npm_esc#aped"))
        #expect(value("flag") == .bool(true))
        #expect(value("//npm_fromenv/:x") == .string("1"), "names are expanded")
        #expect(value("//e/:_authToken") == nil, "a section's entries are not settings")
        #expect(try NPMRC.expand("${TOKEN}", env, line: 1) == "npm_fromenv")
        #expect(try NPMRC.expand("a${MISSING?}b${EMPTY}", env, line: 1) == "ab")
        #expect(try NPMRC.expand("$TOKEN and {x}", env, line: 1) == "$TOKEN and {x}")
    }

    @Test(arguments: [
        ("${NPM_SECRET_UNSET}", "$NPM_SECRET_UNSET is not set"),
        ("${npm_secret", "without its closing"),
        ("\\${TOKEN}", "escape"),
        ("${}", "does not name a variable"),
        ("${npm_AbCdEf0123456789xYz}", "a variable whose name is not shown"),
        ("${AKIAIOSFODNN7EXAMPLE}", "a variable whose name is not shown"),
    ])
    func npmExpansionRefuses(text: String, reason: String) throws {
        do throws(LineSyntaxError) {
            _ = try NPMRC.expand(text, Environment(["TOKEN": "npm_x"]), line: 7)
            Issue.record("expanded \(text)")
        } catch {
            #expect(error.line == 7)
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test(arguments: [
        ("a=1\n=npm_secret\n", 2, "starts with '='"),
        ("a=1\n//a/:_authToken=\"npm_\\qsecret\"\n", 2, "not a JSON string"),
        ("//a/:_authToken='12'\n", 1, "number"),
        ("//a/:_authToken=npm_\u{1}secret\n", 1, "control character"),
    ])
    func npmrcRefuses(text: String, line: Int, reason: String) {
        do throws(LineSyntaxError) {
            _ = try NPMRC.parse(text, environment: Environment([:]))
            Issue.record("read \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.reason.contains(reason), "\(error)")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func npmrcUnclosedQuoteIsReadAsWritten() throws {
        // npm/ini: a value is quoted only when it starts and ends with the quote.
        let entries = try NPMRC.parse("//a/:_authToken=\"npm_x\n", environment: Environment([:]))
        #expect(entries.first?.value == .string("\"npm_x"))
    }

    @Test func nerfDarts() {
        #expect(NPMRC.nerfDart("https://registry.npmjs.org/") == "//registry.npmjs.org/")
        #expect(NPMRC.nerfDart("https://registry.npmjs.org") == "//registry.npmjs.org/")
        #expect(NPMRC.nerfDart("HTTPS://Registry.Example:443/a/b") == "//registry.example/a/")
        #expect(NPMRC.nerfDart("http://localhost:4873/npm/") == "//localhost:4873/npm/")
        #expect(NPMRC.nerfDart("https://user@r.example/") == nil)
        #expect(NPMRC.nerfDart("ftp://r.example/") == nil)
    }
}

/// Resolution through the built-in specs of gh, npm, pypi, stripe, gitlab, doctl and sentry, against their own files
/// in a temporary HOME.
@Suite struct ToolFileResolutionTests {
    typealias MemoryStore = ResolverTests.MemoryStore

    let directory: TemporaryDirectory
    var home: String { directory.path + "/home" }

    init() throws {
        directory = try TemporaryDirectory(prefix: "keyway-toolfiles")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = relative.hasPrefix("/") ? relative : home + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeFile(path, text, mode: 0o600)
    }

    func engine(
        _ app: String, _ env: [String: String] = [:], store: MemoryStore = MemoryStore(), directory: String = "/"
    ) -> ResolutionEngine {
        let spec = AppCatalog.builtIn.first { $0.name == app }!
        return ResolutionEngine(
            spec: spec, environment: Environment(["HOME": home].merging(env) { $1 }), store: store,
            workingDirectory: directory)
    }

    func key(_ app: String, _ env: [String: String] = [:], profile: String = "default") throws -> String? {
        try engine(app, env).resolve(profile: profile).key?.secret.reveal()
    }

    func error(_ app: String, _ env: [String: String] = [:], profile: String = "default") -> String? {
        do throws(KeywayError) {
            _ = try engine(app, env).resolve(profile: profile)
            return nil
        } catch { return error.message }
    }

    @Test func gh() throws {
        try write(
            ".config/gh/hosts.yml",
            """
            github.com:
                users:
                    mona:
                        oauth_token: gho_mona
                    hubot:
                        oauth_token: gho_hubot
                git_protocol: https
                user: mona
                oauth_token: gho_mona
            ghe.example:
                oauth_token: gho_enterprise
            """)
        let found = try engine("gh").resolve()
        #expect(found.key?.secret.reveal() == "gho_mona")
        #expect(found.key?.account == "mona")
        #expect(found.key?.source == .file(home + "/.config/gh/hosts.yml"))
        #expect(try key("gh", profile: "hubot") == "gho_hubot")
        #expect(try key("gh", ["GH_HOST": "ghe.example"]) == "gho_enterprise")
        #expect(try key("gh", ["GH_HOST": "other.example"]) == nil)
        let hosted = try engine("gh", ["GH_HOST": "ghe.example"]).resolve(explain: true)
        #expect(hosted.layers.contains { $0.detail == "read from \(home)/.config/gh/hosts.yml (host from GH_HOST)" })
        #expect(try key("gh", ["GH_TOKEN": "ghp_env"]) == "ghp_env", "the environment wins over the file")
        // A token kept in the keyring: hosts.yml holds none, the store is used.
        try write(".config/gh/hosts.yml", "github.com:\n    users:\n        mona:\n    user: mona\n")
        let stored = MemoryStore(credentials: [Credential(id: CredentialID(app: "gh"), secret: Secret("ghp_stored"))])
        #expect(try engine("gh", store: stored).resolve().key?.secret.reveal() == "ghp_stored")
        #expect(try key("gh", profile: "mona") == nil, "an account without a token in the file")
        // GH_CONFIG_DIR wins over XDG_CONFIG_HOME, which wins over ~/.config.
        try write("/\(directory.path)/xdg/gh/hosts.yml", "github.com:\n    oauth_token: gho_xdg\n")
        try write("/\(directory.path)/ghdir/hosts.yml", "github.com:\n    oauth_token: gho_dir\n")
        #expect(try key("gh", ["XDG_CONFIG_HOME": directory.path + "/xdg"]) == "gho_xdg")
        #expect(
            try key("gh", ["XDG_CONFIG_HOME": directory.path + "/xdg", "GH_CONFIG_DIR": directory.path + "/ghdir"])
                == "gho_dir")
        #expect(try key("gh", ["XDG_CONFIG_HOME": "relative/xdg"]) == nil, "a relative XDG_CONFIG_HOME is ignored")
    }

    @Test func npm() throws {
        try write(
            ".npmrc",
            "registry=https://registry.npmjs.org/\r\n//registry.npmjs.org/:_authToken=npm_file\r\n"
                + "//npm.example/:_authToken=${CUSTOM_TOKEN}\r\n")
        #expect(try key("npm") == "npm_file")
        #expect(try key("npm", ["NPM_TOKEN": "npm_env"]) == "npm_env", "the environment wins")
        #expect(
            try key("npm", ["npm_config_registry": "https://npm.example/", "CUSTOM_TOKEN": "npm_expanded"])
                == "npm_expanded")
        let unset = try #require(error("npm", ["NPM_CONFIG_REGISTRY": "https://npm.example/"]))
        #expect(unset.contains("$CUSTOM_TOKEN is not set") && unset.contains("line 3"), "\(unset)")
        #expect(try key("npm", ["npm_config_registry": "https://elsewhere.example/"]) == nil)
        try write("other/.npmrc", "//registry.npmjs.org/:_authToken=npm_other\n")
        #expect(try key("npm", ["NPM_CONFIG_USERCONFIG": home + "/other/.npmrc"]) == "npm_other")
        #expect(try key("npm", ["npm_config_userconfig": "~/other/.npmrc"]) == "npm_other")
        #expect(
            error("npm", ["npm_config_userconfig": "~/other/.npmrc", "NPM_CONFIG_USERCONFIG": "~/.npmrc"])?.contains(
                "different values") == true)
        // The usual CI line names the spec's own variable: unset, the file hands over no key, the store is next.
        try write(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
        let stored = MemoryStore(credentials: [Credential(id: CredentialID(app: "npm"), secret: Secret("npm_stored"))])
        #expect(try engine("npm", store: stored).resolve().key?.secret.reveal() == "npm_stored")
        #expect(try key("npm", ["NPM_TOKEN": "npm_env"]) == "npm_env")
        try write(".npmrc", "//registry.npmjs.org/:_authToken=npm_a\n//registry.npmjs.org/:_authToken=npm_b\n")
        #expect(error("npm")?.contains("more than once (lines 1, 2)") == true)
    }

    @Test func pypi() throws {
        try write(
            ".pypirc",
            "[distutils]\nindex-servers =\n    pypi\n    testpypi\n")
        #expect(error("pypi")?.contains("line 3: an indented line") == true, "configparser's continuation lines")
        try write(
            ".pypirc",
            "[distutils]\nindex-servers = pypi testpypi\n\n[pypi]\nusername = __token__\npassword = pypi-main\n\n"
                + "[testpypi]\nrepository = https://test.pypi.org/legacy/\nusername = __token__\npassword = pypi-test\n"
        )
        let found = try engine("pypi").resolve()
        #expect(found.key?.secret.reveal() == "pypi-main")
        #expect(found.key?.account == "__token__")
        #expect(try key("pypi", profile: "testpypi") == "pypi-test")
        #expect(try engine("pypi").profilesInFiles().flatMap(\.profiles) == ["default", "testpypi"], "not distutils")
        #expect(try key("pypi", ["TWINE_PASSWORD": "pypi-env"]) == "pypi-env")
        try write(".pypirc", "[pypi]\nPassword = pypi-main\n")
        #expect(error("pypi")?.contains("other letter case") == true)
    }

    @Test func stripe() throws {
        try write(
            ".config/stripe/config.toml",
            "color = \"\"\n[default]\n  account_id = \"acct_1\"\n  test_mode_api_key = \"rk_test_default\"\n"
                + "  test_mode_key_expires_at = \"2099-01-31\"\n  live_mode_api_key = \"rk_live_*****\"\n"
                + "[work]\n  test_mode_api_key = \"rk_test_work\"\n")
        let found = try engine("stripe").resolve()
        #expect(found.key?.secret.reveal() == "rk_test_default")
        #expect(found.key?.account == "acct_1")
        #expect(found.key?.expires == Day(parsing: "2099-01-31"))
        #expect(try key("stripe", profile: "work") == "rk_test_work")
        #expect(try key("stripe", profile: "none") == nil)
        #expect(try key("stripe", ["STRIPE_API_KEY": "sk_test_env"]) == "sk_test_env")
        try write("/\(directory.path)/xdg/stripe/config.toml", "[default]\ntest_mode_api_key = 'rk_test_xdg'\n")
        #expect(try key("stripe", ["XDG_CONFIG_HOME": directory.path + "/xdg/"]) == "rk_test_xdg")
        try write(".config/stripe/config.toml", "[default]\ntest_mode_api_key = [\"rk_test_x\"]\n")
        let refused = try #require(error("stripe"))
        #expect(refused.contains("config.toml, line 2:") && !refused.contains("rk_test_x"), "\(refused)")
    }

    @Test func gitlab() throws {
        try write(
            ".config/glab-cli/config.yml",
            "git_protocol: ssh\nhosts:\n    gitlab.com:\n        token: glpat-com\n        user: me\n"
                + "    gitlab.example.com:\n        token: glpat-example\n")
        let found = try engine("gitlab").resolve()
        #expect(found.key?.secret.reveal() == "glpat-com")
        #expect(found.key?.account == "me")
        #expect(try key("gitlab", ["GITLAB_HOST": "https://gitlab.example.com/"]) == "glpat-example")
        #expect(try key("gitlab", ["GL_HOST": "gitlab.example.com"]) == "glpat-example")
        #expect(try key("gitlab", ["GITLAB_TOKEN": "glpat-env"]) == "glpat-env")
        try write("/\(directory.path)/glab/config.yml", "hosts:\n    gitlab.com:\n        token: glpat-dir\n")
        #expect(try key("gitlab", ["GLAB_CONFIG_DIR": directory.path + "/glab"]) == "glpat-dir")
        #expect(error("gitlab", ["GITLAB_HOST": "https://gitlab.example.com/sub"])?.contains("GITLAB_HOST") == true)
    }

    @Test func doctl() throws {
        try write(
            ".config/doctl/config.yaml",
            "access-token: dop_v1_default\nauth-contexts:\n  default: dop_v1_default\n  team: dop_v1_team\n"
                + "context: default\n")
        #expect(try key("doctl") == "dop_v1_default")
        #expect(try key("doctl", profile: "team") == "dop_v1_team")
        #expect(try key("doctl", profile: "none") == nil)
        #expect(try key("doctl", ["DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_env"]) == "dop_v1_env")
        // `doctl auth switch --context team` makes team's token the one doctl uses.
        try write(
            ".config/doctl/config.yaml",
            "access-token: dop_v1_default\nauth-contexts:\n  team: dop_v1_team\ncontext: team\n")
        let switched = try engine("doctl").resolve(explain: true)
        #expect(switched.key?.secret.reveal() == "dop_v1_team")
        #expect(switched.layers.contains { $0.detail.contains("context in the file selects the profile 'team'") })
    }

    @Test func sentry() throws {
        try write(".sentryclirc", "[defaults]\r\nurl = https://sentry.io/\r\n\r\n[auth]\r\ntoken=sntrys_file\r\n")
        #expect(try key("sentry") == "sntrys_file")
        #expect(try key("sentry", profile: "other") == nil, "one key, for the default profile")
        #expect(try key("sentry", ["SENTRY_AUTH_TOKEN": "sntrys_env"]) == "sntrys_env")
        try write(".sentryclirc", "[auth]\ntoken = \"sntrys_file\"\n")
        let refused = try #require(error("sentry"))
        #expect(refused.contains(".sentryclirc, line 2: a quoted value") && !refused.contains("sntrys_file"))
    }

    @Test func precedenceEnvironmentThenFileThenStore() throws {
        let stored = MemoryStore(credentials: [Credential(id: CredentialID(app: "sentry"), secret: Secret("sntrys_st"))]
        )
        #expect(try engine("sentry", store: stored).resolve().key?.secret.reveal() == "sntrys_st")
        try write(".sentryclirc", "[auth]\ntoken=sntrys_file\n")
        let explained = try engine("sentry", store: stored).resolve(explain: true)
        #expect(explained.key?.secret.reveal() == "sntrys_file")
        #expect(explained.layers.map(\.status) == [.missing, .missing, .missing, .found, .shadowed])
        let env = try engine("sentry", ["SENTRY_AUTH_TOKEN": "sntrys_env"], store: stored).resolve(explain: true)
        #expect(env.key?.secret.reveal() == "sntrys_env")
        #expect(env.layers.map(\.status) == [.missing, .missing, .found, .shadowed, .shadowed])
    }

    @Test func fileInAGitRepositoryWarns() throws {
        let repo = directory.path + "/repo"
        try GitFixture.initialize(repo)
        try write(repo + "/conf/hosts.yml", "github.com:\n    oauth_token: gho_repo\n")
        let resolution = try engine("gh", ["GH_CONFIG_DIR": repo + "/conf"], directory: repo).resolve()
        #expect(resolution.key?.secret.reveal() == "gho_repo")
        #expect(resolution.warnings.contains { $0.code == .gitUntracked }, "\(resolution.warnings)")
    }

    func bytes(_ path: String) throws -> [UInt8] { try #require(try readFile(path)) }

    @Test func importContents() throws {
        try write(
            ".config/stripe/config.toml",
            "color = \"\"\n[default]\ntest_mode_api_key = \"rk_test_a\"\n[work]\ntest_mode_api_key = \"rk_test_b\"\n")
        let path = home + "/.config/stripe/config.toml"
        let contents = try #require(try engine("stripe").contents(ofFile: path, bytes: bytes(path)))
        #expect(contents.keys.map(\.id.profile) == ["default", "work"])
        #expect(contents.others == ["the entry 'color'"], "\(contents.others)")
        #expect(try engine("stripe").profilesInFiles().flatMap(\.profiles) == ["default", "work"])
        try write(".npmrc", "//registry.npmjs.org/:_authToken=npm_a\ncolor=false\n")
        let npmrc = home + "/.npmrc"
        let npm = try #require(try engine("npm").contents(ofFile: npmrc, bytes: bytes(npmrc)))
        #expect(npm.keys.map { $0.secret.reveal() } == ["npm_a"])
        #expect(npm.others == ["the setting 'color'"])
        try write(".config/gh/hosts.yml", "github.com:\n    oauth_token: gho_a\n    git_protocol: https\n")
        let hosts = home + "/.config/gh/hosts.yml"
        let gh = try #require(try engine("gh").contents(ofFile: hosts, bytes: bytes(hosts)))
        #expect(gh.keys.map { $0.secret.reveal() } == ["gho_a"])
        #expect(gh.others == ["the entry 'github.com.git_protocol'"])
    }
}

/// The new source types in user-written specs: decoded, round-tripped, and refused when malformed.
@Suite struct DocumentSpecTests {
    func decode(_ sources: String) throws(KeywayError) -> AppSpec {
        try AppSpecDecoder.decode(
            Array("{\"name\": \"tool\", \"env\": [], \"sources\": [\(sources), {\"type\": \"store\"}]}".utf8),
            source: "tool.json")
    }

    @Test func builtInsRoundTrip() throws {
        for spec in AppCatalog.builtIn {
            let again = try AppSpecDecoder.decode(Array(spec.json().serialized().utf8), source: "again")
            #expect(again == spec, "\(spec.name)")
        }
    }

    @Test(arguments: [
        ("{\"type\": \"yaml\", \"path\": \"~/x\", \"key_field\": \"k\"}", "entry is missing"),
        ("{\"type\": \"ini\", \"path\": \"~/x\", \"entry\": [\"a\", \"b\"], \"key_field\": \"k\"}", "at most one"),
        ("{\"type\": \"yaml\", \"path\": \"~/x\", \"entry\": [\"{host}\"], \"key_field\": \"k\"}", "default_host"),
        (
            "{\"type\": \"toml\", \"path\": \"~/x\", \"entry\": [], \"profile_entry\": [\"a\"], \"key_field\": \"k\"}",
            "must name {profile}"
        ),
        (
            "{\"type\": \"yaml\", \"path\": \"~/x\", \"entry\": [], \"key_field\": \"k\", \"active_profile\": [\"c\"]}",
            "needs a profile_entry"
        ),
        ("{\"type\": \"raw\", \"path\": \"~/x\", \"config_home_env\": \"XDG_CONFIG_HOME\"}", "~/.config/"),
        ("{\"type\": \"npmrc\", \"path\": \"~/.npmrc\", \"default_registry\": \"ftp://x/\"}", "http"),
        (
            "{\"type\": \"yaml\", \"path\": \"~/x\", \"entry\": [], \"key_field\": \"k\", \"host_env\": [\"1X\"]}",
            "not a valid environment variable name"
        ),
    ])
    func refused(source: String, problem: String) {
        do throws(KeywayError) {
            _ = try decode(source)
            Issue.record("decoded \(source)")
        } catch {
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }
}
