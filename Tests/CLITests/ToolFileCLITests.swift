import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// The tools' own files through the binary: get, resolve, import (and --remove), and the git warning.
@Suite struct ToolFileCLITests {
    @Test func getAndResolveReadTheToolFiles() throws {
        let s = try Sandbox(backend: "plaintext")
        try makeFile(s.home + "/.pypirc", "[pypi]\r\nusername = __token__\r\npassword = pypi-AgEIfile\r\n")
        try makeFile(s.home + "/.sentryclirc", "[auth]\ntoken=sntrys_fromfile\n")
        try makeFile(s.home + "/.npmrc", "//registry.npmjs.org/:_authToken=${MY_NPM}\n")
        try makeFile(s.home + "/.config/stripe/config.toml", "[default]\ntest_mode_api_key = \"rk_test_file\"\n")
        try makeFile(s.home + "/.config/glab-cli/config.yml", "hosts:\n  gitlab.com:\n    token: glpat-file\n")
        try makeFile(s.home + "/.config/doctl/config.yaml", "access-token: dop_v1_file\n")
        try makeFile(s.home + "/.config/gh/hosts.yml", "github.com:\n  oauth_token: gho_file\n  user: mona\n")
        for (app, key) in [
            ("pypi", "pypi-AgEIfile"), ("sentry", "sntrys_fromfile"), ("stripe", "rk_test_file"),
            ("gitlab", "glpat-file"), ("doctl", "dop_v1_file"), ("gh", "gho_file"),
        ] {
            let result = try s.run(["get", app])
            #expect(result.stdout == key + "\n", "\(app): \(result)")
            #expect(result.stderr == "", "\(app): \(result)")
        }
        #expect(try s.run(["get", "npm"], env: ["MY_NPM": "npm_expanded"]).stdout == "npm_expanded\n")
        let unset = try s.run(["get", "npm"])
        #expect(unset.status == 2)
        #expect(
            unset.stderr.contains("\(s.home)/.npmrc, line 1: $MY_NPM is not set"), "\(unset.stderr)")
        let resolve = try s.run(["resolve", "sentry"], env: ["SENTRY_AUTH_TOKEN": "sntrys_env"])
        #expect(resolve.stdout.contains("SENTRY_AUTH_TOKEN"), "\(resolve)")
        #expect(resolve.stdout.contains(s.home + "/.sentryclirc"), "\(resolve)")
        #expect(!resolve.stdout.contains("sntrys_fromfile") && !resolve.stdout.contains("sntrys_env"))
        let apps = try s.run(["apps"])
        #expect(apps.stdout.contains("ini ~/.pypirc, key in pypi.password"), "\(apps.stdout)")
        #expect(apps.stdout.contains("npmrc ~/.npmrc (overridden by $NPM_CONFIG_USERCONFIG)"), "\(apps.stdout)")
    }

    @Test func importCopiesAndRemovesOnlyAKeyOnlyFile() throws {
        let s = try Sandbox(backend: "plaintext")
        let file = s.home + "/.config/stripe/config.toml"
        try makeFile(file, "[default]\ntest_mode_api_key = \"rk_test_import\"\ndevice_name = \"laptop\"\n")
        let refused = try s.run(["import", "stripe", "--remove"])
        #expect(FileManager.default.fileExists(atPath: file), "\(refused)")
        #expect(refused.stderr.contains("device_name"), "\(refused)")
        #expect(try s.run(["get", "stripe"], env: ["HOME": s.root + "/elsewhere"]).stdout == "rk_test_import\n")
        try makeFile(s.home + "/.sentryclirc", "[auth]\ntoken=sntrys_only\n")
        let removed = try s.run(["import", "sentry", "--remove"])
        #expect(removed.status == 0, "\(removed)")
        #expect(!FileManager.default.fileExists(atPath: s.home + "/.sentryclirc"))
        #expect(try s.run(["get", "sentry"]).stdout == "sntrys_only\n")
    }

    @Test func aToolFileInARepositoryWarns() throws {
        let s = try Sandbox(backend: "plaintext")
        let repo = s.root + "/project"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try git(["init", "-q"], in: repo)
        try makeFile(repo + "/glab/config.yml", "hosts:\n  gitlab.com:\n    token: glpat-inrepo\n")
        let result = try s.run(["get", "gitlab"], env: ["GLAB_CONFIG_DIR": repo + "/glab"])
        #expect(result.stdout == "glpat-inrepo\n")
        #expect(
            result.stderr.contains("\(repo)/glab/config.yml holds an API key and is inside the git repository"),
            "\(result)")
    }
}
