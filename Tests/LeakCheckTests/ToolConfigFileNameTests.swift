import KeywayCore
import KeywayLeakCheck
import Testing

/// The tools' config files the built-in specs read (gh's hosts.yml, glab's config.yml, the Stripe CLI's config.toml,
/// doctl's config.yaml, ~/.npmrc, ~/.sentryclirc) are audited at their paths, but their names do not make every
/// file so named a credentials file.
@Suite struct ToolConfigFileNameTests {
    func checker(home: String = "/home/u") -> LeakChecker {
        LeakChecker(
            LeakCheckOptions(
                paths: [], machineAudit: true, environment: Environment(["HOME": home]), workingDirectory: "/",
                specs: AppCatalog.builtIn))
    }

    @Test func genericConfigNamesAreNotCredentialsFiles() {
        let checker = checker()
        for name in ["config.yml", "config.yaml", "config.toml", "hosts.yml", ".sentryclirc", ".npmrc"] {
            #expect(!checker.isCredentialsFileName(name), "\(name)")
        }
        #expect(checker.isCredentialsFileName(".pypirc"), "a well-known name")
        #expect(checker.isCredentialsFileName("credentials.json"), "Reflex's file, a json source")
    }

    @Test func machineAuditListsTheToolFiles() {
        let files = checker().machineFiles()
        for path in [
            "/home/u/.config/gh/hosts.yml", "/home/u/.npmrc", "/home/u/.pypirc", "/home/u/.config/stripe/config.toml",
            "/home/u/.config/glab-cli/config.yml", "/home/u/.config/doctl/config.yaml", "/home/u/.sentryclirc",
        ] {
            #expect(files.contains(path), "\(path)")
        }
    }
}
