import ArgumentParser
import Keyway

struct SystemdUnit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd-unit",
        abstract: "Print the systemd unit lines that hand an app's key to a service as an encrypted credential.",
        discussion: """
            keyway (get, run, resolve...) inside the unit reads $CREDENTIALS_DIRECTORY/keyway.APP (keyway.APP.PROFILE \
            for another profile) right after the environment. Nothing is read or written: the lines are printed.
            """)

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption

    func run() throws {
        try guarded {
            let id = CredentialID(app: app, profile: profile.resolved(Environment.process()))
            try id.validate()
            guard APIKeyRules.isShowableName(id.app), APIKeyRules.isShowableName(id.profile),
                let name = ResolutionEngine.systemdCredentialName(for: id)
            else {
                throw KeywayError(
                    .invalidInput,
                    "The app or profile name cannot be a credential name (it holds '/', starts with '.', "
                        + "or may be a key).")
            }
            let store = "/etc/credstore.encrypted/\(name)"
            let get = id.command("get")
            try output(
                """
                # 1. As root, on the machine that runs the service, encrypt the key (systemd-creds, systemd 250+):
                #      \(get) | systemd-creds encrypt --name=\(name) - \(store)
                #    (or give the key on standard input: systemd-creds encrypt --name=\(name) - \(store))
                # 2. Add to the unit's [Service] section:
                LoadCredentialEncrypted=\(name):\(store)
                # 3. Inside the unit, keyway run \(APIKeyRules.shownName(id.app)) -- CMD (or keyway get) finds the key in
                #    $CREDENTIALS_DIRECTORY/\(name); nothing else (no store, no unlock material) is needed.

                """)
            return ExitStatus.success
        }
    }
}
