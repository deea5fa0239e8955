import KeywayCore

/// The built-in rule table: one entry per provider format, each written from the provider's documented format
/// (prefix, length, alphabet, checksum where there is one). `SecretRule.wellKnown` is this table.
extension SecretRule {
    /// A prefix, then a body of `length` bytes from `alphabet`.
    static func token(
        _ id: String, _ name: String, family: String, _ prefixes: [String], _ alphabet: Alphabet,
        _ length: ClosedRange<Int>, revoke: String, check: Check = .none, severity: Finding.Severity = .error
    ) -> SecretRule {
        SecretRule(
            id: id, name: name, prefixes: prefixes,
            shape: .token(alphabet: alphabet, minimum: length.lowerBound, maximum: length.upperBound),
            family: family, severity: severity, remediation: revoke, check: check)
    }

    /// A keyword (`aws_secret_access_key`, `password`) that ends an identifier, an assignment, then a value of
    /// `length` bytes from `alphabet`.
    static func assignment(
        _ id: String, _ name: String, family: String, keywords: [String], _ alphabet: Alphabet,
        _ length: ClosedRange<Int>, revoke: String, check: Check = .none, severity: Finding.Severity = .error
    ) -> SecretRule {
        SecretRule(
            id: id, name: name, prefixes: [],
            shape: .assignment(alphabet: alphabet, minimum: length.lowerBound, maximum: length.upperBound),
            family: family, severity: severity, remediation: revoke, keywords: keywords, check: check)
    }

    /// A literal in the middle of the key (`.atlasv1.`, `8Q~`): `before` bytes before it, `after` bytes after.
    static func infix(
        _ id: String, _ name: String, family: String, _ literal: String, before: Alphabet,
        _ beforeLength: ClosedRange<Int>, after: Alphabet, _ afterLength: ClosedRange<Int>, revoke: String,
        check: Check = .none
    ) -> SecretRule {
        SecretRule(
            id: id, name: name, prefixes: [literal],
            shape: .infix(
                before: before, beforeMinimum: beforeLength.lowerBound, beforeMaximum: beforeLength.upperBound,
                after: after, afterMinimum: afterLength.lowerBound, afterMaximum: afterLength.upperBound),
            family: family, remediation: revoke, check: check)
    }

    static func special(
        _ id: String, _ name: String, family: String, _ shape: Shape, prefixes: [String] = [],
        keywords: [String] = [], revoke: String, severity: Finding.Severity = .error
    ) -> SecretRule {
        SecretRule(
            id: id, name: name, prefixes: prefixes, shape: shape, family: family, severity: severity,
            remediation: revoke, keywords: keywords)
    }

    /// Every built-in rule, in the order the README lists them.
    public static let builtIn: [SecretRule] = providerRules + contextRules

    static let providerRules: [SecretRule] = [
        // AWS
        token(
            "aws-access-key-id", "AWS access key id", family: "AWS", ["AKIA", "ASIA", "ABIA", "ACCA"],
            .upperAlphanumeric, 16...16,
            revoke: "Deactivate and delete the key in IAM (console.aws.amazon.com/iam, user > Security credentials); "
                + "for ASIA keys revoke the role's sessions."),
        assignment(
            "aws-secret-access-key", "AWS secret access key", family: "AWS",
            keywords: [
                "aws_secret_access_key", "secret_access_key", "secretaccesskey", "aws_secret_key",
                "aws-secret-access-key",
            ],
            .base64, 40...40, revoke: "Delete the access key pair in IAM (console.aws.amazon.com/iam)."),
        assignment(
            "aws-session-token", "AWS session token", family: "AWS",
            keywords: ["aws_session_token", "aws_security_token", "sessiontoken", "session_token"], .base64,
            100...2000, revoke: "Revoke the role's active sessions in IAM (Revoke active sessions)."),
        token(
            "aws-bedrock-api-key", "Amazon Bedrock API key", family: "AWS", ["ABSKQmVkcm9ja0FQSUtleS"], .base64,
            60...400, revoke: "Delete the Bedrock API key (IAM service-specific credentials)."),
        token(
            "aws-mws-key", "Amazon MWS auth token", family: "AWS", ["amzn.mws."], .hexDash, 36...36,
            revoke: "Revoke the authorisation in Seller Central (Apps and Services > Manage Your Apps)."),
        // GitHub
        token(
            "github-token", "GitHub token", family: "GitHub", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], .alphanumeric,
            36...36, revoke: "Revoke it at github.com/settings/tokens (OAuth/app tokens: the app's settings).",
            check: .crc32Base62),
        token(
            "github-fine-grained-token", "GitHub fine-grained personal access token", family: "GitHub",
            ["github_pat_"], .alphanumericUnderscore, 70...100,
            revoke: "Revoke it at github.com/settings/personal-access-tokens."),
        token(
            "github-installation-token-v1", "GitHub app installation token (v1)", family: "GitHub", ["v1."],
            .hexLower, 40...40, revoke: "It expires within an hour; rotate the app's private key if it leaked too."),
        assignment(
            "github-oauth-client-secret", "GitHub OAuth app client secret", family: "GitHub",
            keywords: ["github_client_secret", "gh_client_secret", "github_secret"], .hexLower, 40...40,
            revoke: "Generate a new client secret in the OAuth app's settings and delete the old one."),
        // GitLab
        token(
            "gitlab-token", "GitLab personal access token", family: "GitLab", ["glpat-"], .urlSafeDot, 20...120,
            revoke: "Revoke it in GitLab (User settings > Access tokens)."),
        token(
            "gitlab-deploy-token", "GitLab deploy token", family: "GitLab", ["gldt-"], .urlSafeDot, 20...120,
            revoke: "Revoke it in the project's Settings > Repository > Deploy tokens."),
        token(
            "gitlab-runner-token", "GitLab runner authentication token", family: "GitLab", ["glrt-", "glrtr-"],
            .urlSafeDot, 20...120, revoke: "Reset the runner's token (CI/CD > Runners) or delete the runner."),
        token(
            "gitlab-runner-registration-token", "GitLab runner registration token", family: "GitLab",
            ["GR1348941"], .urlSafe, 20...40, revoke: "Reset the registration token in CI/CD > Runners."),
        token(
            "gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", family: "GitLab", ["glptt-"], .hexLower,
            40...40, revoke: "Revoke the trigger in CI/CD > Pipeline trigger tokens."),
        token(
            "gitlab-feed-token", "GitLab feed token", family: "GitLab", ["glft-"], .urlSafe, 20...40,
            revoke: "Reset the feed token in User settings > Access tokens."),
        token(
            "gitlab-incoming-mail-token", "GitLab incoming mail token", family: "GitLab", ["glimt-"], .urlSafe,
            25...40, revoke: "Reset the incoming e-mail token in User settings > Access tokens."),
        token(
            "gitlab-oauth-app-secret", "GitLab OAuth application secret", family: "GitLab", ["gloas-"], .urlSafe,
            64...64, revoke: "Renew the application's secret in Applications."),
        token(
            "gitlab-agent-token", "GitLab agent for Kubernetes token", family: "GitLab", ["glagent-"], .urlSafe,
            50...60, revoke: "Revoke the agent's token in Operate > Kubernetes clusters."),
        token(
            "gitlab-scim-token", "GitLab SCIM token", family: "GitLab", ["glsoat-"], .urlSafe, 20...40,
            revoke: "Reset the SCIM token in the group's SAML SSO settings."),
        token(
            "gitlab-feature-flags-token", "GitLab feature flags client token", family: "GitLab", ["glffct-"],
            .urlSafe, 20...40, revoke: "Reset the instance ID token in Deploy > Feature flags."),
        token(
            "gitlab-cicd-job-token", "GitLab CI/CD job token", family: "GitLab", ["glcbt-"], .urlSafe, 20...80,
            revoke: "It expires with the job; cancel the job if it still runs."),
        token(
            "gitlab-workspace-token", "GitLab workspace token", family: "GitLab", ["glwt-"], .urlSafe, 20...40,
            revoke: "Terminate the workspace."),
        // Slack
        token(
            "slack-token", "Slack token", family: "Slack", ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxo-"],
            .alphanumericDash, 10...250, revoke: "Revoke it at api.slack.com/apps (OAuth & Permissions) or auth.revoke."
        ),
        token(
            "slack-config-token", "Slack configuration token", family: "Slack", ["xoxe.xoxp-", "xoxe.xoxb-"],
            .alphanumericDash, 20...250, revoke: "Revoke it at api.slack.com/apps (Your app configuration tokens)."),
        token(
            "slack-refresh-token", "Slack refresh token", family: "Slack", ["xoxe-"], .alphanumericDash, 20...250,
            revoke: "Revoke it with tooling.tokens.rotate or at api.slack.com/apps."),
        token(
            "slack-app-token", "Slack app-level token", family: "Slack", ["xapp-"], .alphanumericDash, 20...250,
            revoke: "Revoke it in the app's Basic Information > App-Level Tokens."),
        token(
            "slack-webhook-url", "Slack incoming webhook URL", family: "Slack",
            [
                "https://hooks.slack.com/services/", "https://hooks.slack.com/workflows/",
                "https://hooks.slack.com/triggers/",
            ], .urlPath, 30...120,
            revoke: "Remove the webhook in the app's Incoming Webhooks settings."),
        // Stripe
        token(
            "stripe-live-key", "Stripe live secret or restricted key", family: "Stripe", ["sk_live_", "rk_live_"],
            .alphanumeric, 20...250, revoke: "Roll the key at dashboard.stripe.com/apikeys."),
        token(
            "stripe-test-key", "Stripe test secret or restricted key", family: "Stripe", ["sk_test_", "rk_test_"],
            .alphanumeric, 20...250, revoke: "Roll the key at dashboard.stripe.com/test/apikeys.", severity: .warning),
        token(
            "stripe-webhook-secret", "Stripe webhook signing secret", family: "Stripe", ["whsec_"], .alphanumeric,
            32...64, revoke: "Roll the endpoint's signing secret at dashboard.stripe.com/webhooks."),
        // OpenAI
        token(
            "openai-project-key", "OpenAI project API key", family: "OpenAI", ["sk-proj-"], .urlSafe, 40...300,
            revoke: "Delete the key at platform.openai.com/api-keys."),
        token(
            "openai-service-account-key", "OpenAI service account key", family: "OpenAI", ["sk-svcacct-"],
            .urlSafe, 40...300, revoke: "Delete the service account's key at platform.openai.com (project settings)."),
        token(
            "openai-admin-key", "OpenAI admin key", family: "OpenAI", ["sk-admin-"], .urlSafe, 40...300,
            revoke: "Delete the admin key at platform.openai.com/settings/organization/admin-keys."),
        token(
            "openai-api-key", "OpenAI API key", family: "OpenAI", ["sk-"], .urlSafe, 40...300,
            revoke: "Delete the key at platform.openai.com/api-keys.", check: .contains("T3BlbkFJ")),
        // Anthropic
        token(
            "anthropic-api-key", "Anthropic API key", family: "Anthropic", ["sk-ant-api03-"], .urlSafe, 80...120,
            revoke: "Delete the key at console.anthropic.com/settings/keys."),
        token(
            "anthropic-admin-key", "Anthropic admin key", family: "Anthropic", ["sk-ant-admin01-"], .urlSafe, 80...120,
            revoke: "Delete the admin key at console.anthropic.com/settings/admin-keys."),
        token(
            "anthropic-oauth-token", "Anthropic OAuth token", family: "Anthropic", ["sk-ant-oat01-", "sk-ant-ort01-"],
            .urlSafe, 80...120, revoke: "Log out of the client that holds it (claude logout) to revoke it."),
        // AI providers
        token(
            "huggingface-token", "Hugging Face access token", family: "Hugging Face", ["hf_"], .alphanumeric, 34...40,
            revoke: "Invalidate it at huggingface.co/settings/tokens."),
        token(
            "huggingface-org-token", "Hugging Face organization API token", family: "Hugging Face", ["api_org_"],
            .alphanumeric, 34...34, revoke: "Invalidate it in the organization's settings."),
        token(
            "groq-api-key", "Groq API key", family: "Groq", ["gsk_"], .alphanumeric, 52...52,
            revoke: "Delete the key at console.groq.com/keys."),
        token(
            "replicate-api-token", "Replicate API token", family: "Replicate", ["r8_"], .alphanumeric, 37...37,
            revoke: "Disable the token at replicate.com/account/api-tokens."),
        token(
            "perplexity-api-key", "Perplexity API key", family: "Perplexity", ["pplx-"], .alphanumeric, 48...56,
            revoke: "Delete the key in Perplexity's API settings."),
        token(
            "xai-api-key", "xAI API key", family: "xAI", ["xai-"], .alphanumeric, 80...80,
            revoke: "Delete the key at console.x.ai."),
        token(
            "openrouter-api-key", "OpenRouter API key", family: "OpenRouter", ["sk-or-v1-"], .hexLower, 64...64,
            revoke: "Delete the key at openrouter.ai/settings/keys."),
        token(
            "langsmith-api-key", "LangSmith API key", family: "LangSmith", ["lsv2_pt_", "lsv2_sk_"],
            .alphanumericUnderscore, 40...50, revoke: "Delete the key in LangSmith's Settings > API Keys."),
        token(
            "pinecone-api-key", "Pinecone API key", family: "Pinecone", ["pcsk_"], .alphanumericUnderscore, 50...120,
            revoke: "Delete the key in the Pinecone console (API Keys)."),
        token(
            "elevenlabs-api-key", "ElevenLabs API key", family: "ElevenLabs", ["sk_"], .hexLower, 48...48,
            revoke: "Delete the key at elevenlabs.io/app/settings/api-keys."),
        // Google
        token(
            "google-api-key", "Google API key", family: "Google", ["AIza"], .urlSafe, 35...35,
            revoke: "Delete or regenerate the key at console.cloud.google.com/apis/credentials."),
        token(
            "google-oauth-client-secret", "Google OAuth client secret", family: "Google", ["GOCSPX-"], .urlSafe,
            28...28, revoke: "Reset the client secret at console.cloud.google.com/apis/credentials."),
        token(
            "google-oauth-access-token", "Google OAuth access token", family: "Google", ["ya29."], .urlSafeDot,
            30...2048, revoke: "Revoke it at https://oauth2.googleapis.com/revoke (it expires within an hour)."),
        token(
            "google-oauth-refresh-token", "Google OAuth refresh token", family: "Google", ["1//0"], .urlSafe,
            40...512, revoke: "Revoke it at https://oauth2.googleapis.com/revoke or myaccount.google.com/permissions."),
        token(
            "firebase-cloud-messaging-server-key", "Firebase Cloud Messaging server key", family: "Google",
            ["APA91b"], .urlSafe, 100...200,
            revoke: "Delete the legacy server key in the Firebase console (Cloud Messaging)."),
        // Azure
        token(
            "azure-storage-account-key", "Azure storage account key (connection string)", family: "Azure",
            ["AccountKey="], .base64, 86...88,
            revoke: "Rotate the account key in the portal (Storage account > Access keys)."),
        token(
            "azure-shared-access-key", "Azure Service Bus / Event Hubs shared access key", family: "Azure",
            ["SharedAccessKey="], .base64, 43...44,
            revoke: "Regenerate the key of the shared access policy in the portal."),
        infix(
            "azure-ad-client-secret", "Microsoft Entra ID (Azure AD) client secret", family: "Azure", "Q~",
            before: .azureSecret, 4...4, after: .azureSecret, 31...34,
            revoke: "Delete the secret in the app registration (Certificates & secrets).", check: .digitBeforeInfix),
        special(
            "azure-sas-token", "Azure shared access signature", family: "Azure", .sasSignature, keywords: ["sig="],
            revoke: "Rotate the storage account key that signed it (or revoke the stored access policy)."),
        assignment(
            "azure-openai-api-key", "Azure OpenAI API key", family: "Azure",
            keywords: ["azure_openai_api_key", "azure_openai_key"], .hex, 32...32,
            revoke: "Regenerate the key in the Azure OpenAI resource (Keys and Endpoint)."),
        assignment(
            "azure-devops-pat", "Azure DevOps personal access token", family: "Azure",
            keywords: ["azure_devops_pat", "azure_devops_token", "ado_pat", "azure_devops_ext_pat"],
            .lowerAlphanumeric, 52...84, revoke: "Revoke it in Azure DevOps (User settings > Personal access tokens)."),
        // Messaging and e-mail
        token(
            "twilio-api-key", "Twilio API key SID", family: "Twilio", ["SK"], .hexLower, 32...32,
            revoke: "Delete the API key in the Twilio console (Account > API keys)."),
        assignment(
            "twilio-auth-token", "Twilio auth token", family: "Twilio",
            keywords: ["twilio_auth_token", "twilio_token", "twilio_secret"], .hexLower, 32...32,
            revoke: "Rotate the auth token in the Twilio console (Account > API keys & tokens)."),
        token(
            "sendgrid-api-key", "SendGrid API key", family: "SendGrid", ["SG."], .urlSafeDot, 66...66,
            revoke: "Delete the key at app.sendgrid.com/settings/api_keys.", check: .separator(46, at: 22)),
        token(
            "mailgun-api-key", "Mailgun private API key", family: "Mailgun", ["key-"], .hexLower, 32...32,
            revoke: "Rotate the key in Mailgun (Settings > API Keys)."),
        assignment(
            "mailgun-signing-key", "Mailgun webhook signing key", family: "Mailgun",
            keywords: ["mailgun_signing_key", "mailgun_webhook_signing_key", "mailgun_api_key"], .hexDash, 32...50,
            revoke: "Rotate the key in Mailgun (Settings > API Keys)."),
        infix(
            "mailchimp-api-key", "Mailchimp API key", family: "Mailchimp", "-us", before: .hexLower, 32...32,
            after: .digits, 1...2, revoke: "Delete the key in Mailchimp (Account > Extras > API keys)."),
        token(
            "brevo-api-key", "Brevo (Sendinblue) API key", family: "Brevo", ["xkeysib-"], .alphanumericDash, 81...81,
            revoke: "Delete the key in Brevo (SMTP & API > API keys)."),
        token(
            "brevo-smtp-key", "Brevo (Sendinblue) SMTP key", family: "Brevo", ["xsmtpsib-"], .alphanumericDash,
            81...81, revoke: "Delete the key in Brevo (SMTP & API > SMTP)."),
        token(
            "resend-api-key", "Resend API key", family: "Resend", ["re_"], .alphanumericUnderscore, 30...40,
            revoke: "Delete the key at resend.com/api-keys."),
        token(
            "klaviyo-private-key", "Klaviyo private API key", family: "Klaviyo", ["pk_"], .hexLower, 34...34,
            revoke: "Revoke the key in Klaviyo (Settings > API keys)."),
        assignment(
            "discord-bot-token", "Discord bot token", family: "Discord",
            keywords: ["discord_token", "discord_bot_token", "bot_token", "discord_client_secret"], .urlSafeDot,
            59...80, revoke: "Reset the token at discord.com/developers/applications (Bot).", check: .discordBot),
        token(
            "discord-webhook-url", "Discord webhook URL", family: "Discord",
            ["https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/"], .urlPath, 60...120,
            revoke: "Delete the webhook in the channel's Integrations settings."),
        assignment(
            "telegram-bot-token", "Telegram bot token", family: "Telegram",
            keywords: ["telegram_token", "telegram_bot_token", "tg_token", "telegram_api_token", "bot_token"],
            .telegram, 44...47, revoke: "Revoke it with @BotFather (/revoke).", check: .telegramBot),
        token(
            "telegram-bot-url", "Telegram bot API URL with token", family: "Telegram",
            ["https://api.telegram.org/bot"], .telegram, 44...47, revoke: "Revoke it with @BotFather (/revoke).",
            check: .telegramBot),
        token(
            "microsoft-teams-webhook-url", "Microsoft Teams incoming webhook URL", family: "Microsoft Teams",
            ["webhook.office.com/webhookb2/"], .teamsPath, 100...250,
            revoke: "Remove the Incoming Webhook connector from the channel."),
        token(
            "zapier-webhook-url", "Zapier webhook URL", family: "Zapier", ["https://hooks.zapier.com/hooks/catch/"],
            .urlPath, 10...40, revoke: "Turn the Zap off and create a new webhook trigger."),
        // Commerce and payments
        token(
            "shopify-access-token", "Shopify access token", family: "Shopify", ["shpat_"], .hex, 32...32,
            revoke: "Uninstall the app or rotate the token in the Shopify admin (Apps > Develop apps)."),
        token(
            "shopify-custom-app-token", "Shopify custom app access token", family: "Shopify", ["shpca_"], .hex,
            32...32, revoke: "Rotate the token in the Shopify admin (Apps > Develop apps)."),
        token(
            "shopify-private-app-token", "Shopify private app access token", family: "Shopify", ["shppa_"], .hex,
            32...32, revoke: "Delete the private app in the Shopify admin."),
        token(
            "shopify-shared-secret", "Shopify app shared secret", family: "Shopify", ["shpss_"], .hex, 32...32,
            revoke: "Rotate the app's client secret in the Partner dashboard."),
        token(
            "square-access-token", "Square access token", family: "Square", ["EAAA"], .urlSafe, 60...60,
            revoke: "Revoke it in the Square Developer Dashboard (Credentials)."),
        token(
            "square-legacy-access-token", "Square legacy access token", family: "Square", ["sq0atp-"], .urlSafe,
            22...22, revoke: "Replace it in the Square Developer Dashboard (Credentials)."),
        token(
            "square-oauth-secret", "Square OAuth application secret", family: "Square", ["sq0csp-"], .urlSafe,
            43...43, revoke: "Replace the application secret in the Square Developer Dashboard (OAuth)."),
        token(
            "flutterwave-secret-key", "Flutterwave secret key", family: "Flutterwave",
            ["FLWSECK-", "FLWSECK_TEST-"], .alphanumericDash, 34...34,
            revoke: "Regenerate the keys in the Flutterwave dashboard (Settings > API)."),
        token(
            "easypost-api-key", "EasyPost API key", family: "EasyPost", ["EZAK", "EZTK"], .alphanumeric, 54...54,
            revoke: "Disable the key in EasyPost (Account > API Keys)."),
        token(
            "shippo-api-token", "Shippo API token", family: "Shippo", ["shippo_live_", "shippo_test_"], .hexLower,
            40...40, revoke: "Regenerate the token in Shippo (Settings > API)."),
        token(
            "duffel-api-token", "Duffel API token", family: "Duffel", ["duffel_live_", "duffel_test_"], .urlSafe,
            43...43, revoke: "Delete the token in the Duffel dashboard (Developers > Access tokens)."),
        token(
            "woocommerce-consumer-key", "WooCommerce REST API key", family: "WooCommerce", ["ck_", "cs_"], .hexLower,
            40...40, revoke: "Revoke the key in WooCommerce > Settings > Advanced > REST API."),
        // Work tools
        token(
            "atlassian-api-token", "Atlassian API token", family: "Atlassian", ["ATATT3"], .urlSafeEquals, 180...200,
            revoke: "Revoke it at id.atlassian.com/manage-profile/security/api-tokens."),
        token(
            "atlassian-connect-token", "Atlassian Connect / OAuth token", family: "Atlassian", ["ATCTT3", "ATOA"],
            .urlSafeEquals, 60...260, revoke: "Revoke the app's access in the Atlassian admin."),
        token(
            "bitbucket-app-password", "Bitbucket app password", family: "Atlassian", ["ATBB"], .alphanumeric,
            32...40, revoke: "Revoke it in Bitbucket (Personal settings > App passwords)."),
        token(
            "linear-api-key", "Linear API key", family: "Linear", ["lin_api_"], .alphanumeric, 40...40,
            revoke: "Revoke the key in Linear (Settings > Security & access > API keys)."),
        token(
            "linear-oauth-token", "Linear OAuth access token", family: "Linear", ["lin_oauth_"], .hexLower, 64...64,
            revoke: "Revoke the OAuth application's tokens in Linear (Settings > API)."),
        token(
            "notion-integration-token", "Notion integration token", family: "Notion", ["ntn_"], .alphanumeric, 46...46,
            revoke: "Refresh the integration's secret at notion.so/my-integrations."),
        token(
            "notion-legacy-token", "Notion integration token (legacy secret_)", family: "Notion", ["secret_"],
            .alphanumeric, 43...43, revoke: "Refresh the integration's secret at notion.so/my-integrations."),
        token(
            "postman-api-key", "Postman API key", family: "Postman", ["PMAK-"], .alphanumericDash, 59...59,
            revoke: "Revoke it at go.postman.co/settings/me/api-keys.", check: .separator(45, at: 24)),
        assignment(
            "algolia-admin-key", "Algolia admin API key", family: "Algolia",
            keywords: ["algolia_admin_key", "algolia_api_key", "algolia_admin_api_key", "algolia_write_key"],
            .hexLower, 32...32, revoke: "Regenerate the admin key in the Algolia dashboard (API Keys)."),
        token(
            "figma-token", "Figma personal access token", family: "Figma", ["figd_"], .urlSafe, 40...43,
            revoke: "Revoke it in Figma (Settings > Security > Personal access tokens)."),
        token(
            "airtable-pat", "Airtable personal access token", family: "Airtable", ["pat"], .alphanumericDot, 79...79,
            revoke: "Delete the token at airtable.com/create/tokens.", check: .separator(46, at: 14)),
        token(
            "contentful-pat", "Contentful personal access token", family: "Contentful", ["CFPAT-"], .urlSafe,
            43...43, revoke: "Revoke the token in Contentful (Settings > CMA tokens)."),
        token(
            "typeform-token", "Typeform personal access token", family: "Typeform", ["tfp_"], .urlSafeDot, 50...70,
            revoke: "Revoke it in Typeform (Account > Personal tokens)."),
        token(
            "readme-api-key", "ReadMe API key", family: "ReadMe", ["rdme_"], .lowerAlphanumeric, 70...70,
            revoke: "Delete the key in ReadMe (Project > API keys)."),
        token(
            "frameio-token", "Frame.io developer token", family: "Frame.io", ["fio-u-"], .urlSafe, 64...64,
            revoke: "Revoke it at developer.frame.io."),
        token(
            "dropbox-access-token", "Dropbox short-lived access token", family: "Dropbox", ["sl."], .urlSafeDot,
            130...1400, revoke: "Revoke it (POST /2/auth/token/revoke) or disconnect the app."),
        token(
            "mapbox-secret-token", "Mapbox secret access token", family: "Mapbox", ["sk.eyJ"], .urlSafeDot, 60...300,
            revoke: "Delete the token at account.mapbox.com/access-tokens."),
        token(
            "facebook-access-token", "Facebook (Meta) access token", family: "Meta", ["EAACEdEose0cBA", "EAAG"],
            .alphanumeric, 60...400,
            revoke: "Invalidate it by changing the app secret or revoking in Business settings."),
        // Cloud and infrastructure
        token(
            "digitalocean-pat", "DigitalOcean personal access token", family: "DigitalOcean", ["dop_v1_"], .hexLower,
            64...64, revoke: "Delete the token at cloud.digitalocean.com/account/api/tokens."),
        token(
            "digitalocean-oauth-token", "DigitalOcean OAuth token", family: "DigitalOcean", ["doo_v1_"], .hexLower,
            64...64, revoke: "Revoke the application's access at cloud.digitalocean.com/account/api."),
        token(
            "digitalocean-refresh-token", "DigitalOcean OAuth refresh token", family: "DigitalOcean", ["dor_v1_"],
            .hexLower, 64...64, revoke: "Revoke the application's access at cloud.digitalocean.com/account/api."),
        token(
            "heroku-api-key", "Heroku API key", family: "Heroku", ["HRKU-AA"], .urlSafe, 58...58,
            revoke: "Regenerate it at dashboard.heroku.com/account (API Key) or heroku authorizations:revoke."),
        assignment(
            "heroku-api-key-legacy", "Heroku API key (UUID)", family: "Heroku",
            keywords: ["heroku_api_key", "heroku_api_token", "heroku_key"], .hexDash, 36...36,
            revoke: "Regenerate it at dashboard.heroku.com/account (API Key).", check: .uuid),
        assignment(
            "cloudflare-api-token", "Cloudflare API token", family: "Cloudflare",
            keywords: ["cloudflare_api_token", "cf_api_token", "cloudflare_token", "cf_token"], .urlSafe, 40...40,
            revoke: "Roll or delete the token at dash.cloudflare.com/profile/api-tokens."),
        assignment(
            "cloudflare-global-api-key", "Cloudflare global API key", family: "Cloudflare",
            keywords: ["cloudflare_api_key", "cf_api_key", "cloudflare_global_api_key", "cloudflare_key"], .hexLower,
            37...37, revoke: "Change the Global API Key at dash.cloudflare.com/profile/api-tokens."),
        token(
            "cloudflare-origin-ca-key", "Cloudflare Origin CA key", family: "Cloudflare", ["v1.0-"], .hexDash,
            171...171, revoke: "Change the Origin CA key at dash.cloudflare.com/profile/api-tokens.",
            check: .separator(45, at: 24)),
        token(
            "vault-service-token", "HashiCorp Vault / OpenBao service token", family: "Vault", ["hvs."], .urlSafe,
            24...300, revoke: "vault token revoke (or bao token revoke) with an admin token."),
        token(
            "vault-batch-token", "HashiCorp Vault / OpenBao batch token", family: "Vault", ["hvb."], .urlSafe,
            24...400, revoke: "Batch tokens cannot be revoked: revoke their parent token or wait for expiry."),
        token(
            "vault-recovery-token", "HashiCorp Vault / OpenBao recovery token", family: "Vault", ["hvr."], .urlSafe,
            24...300, revoke: "vault token revoke with an admin token; regenerate the recovery keys."),
        infix(
            "terraform-cloud-token", "Terraform Cloud / HCP Terraform API token", family: "Terraform", ".atlasv1.",
            before: .alphanumeric, 14...14, after: .urlSafe, 60...70,
            revoke: "Delete the token at app.terraform.io/app/settings/tokens."),
        token(
            "pulumi-access-token", "Pulumi access token", family: "Pulumi", ["pul-"], .hexLower, 40...40,
            revoke: "Delete the token at app.pulumi.com (Personal access tokens)."),
        token(
            "databricks-token", "Databricks personal access token", family: "Databricks", ["dapi"], .hexLower,
            32...34, revoke: "Revoke the token in the workspace (User settings > Developer > Access tokens)."),
        token(
            "doppler-personal-token", "Doppler personal token", family: "Doppler", ["dp.pt."], .alphanumeric, 43...44,
            revoke: "Revoke the token at dashboard.doppler.com (Tokens)."),
        token(
            "doppler-service-token", "Doppler service token", family: "Doppler", ["dp.st."], .urlSafeDot, 43...90,
            revoke: "Revoke the service token in the config's Access tab."),
        token(
            "doppler-cli-token", "Doppler CLI token", family: "Doppler", ["dp.ct."], .alphanumeric, 43...44,
            revoke: "doppler logout --yes, or revoke it at dashboard.doppler.com (Tokens)."),
        token(
            "doppler-scim-token", "Doppler SCIM token", family: "Doppler", ["dp.scim."], .alphanumeric, 43...44,
            revoke: "Regenerate it in the workplace's SCIM settings."),
        token(
            "doppler-audit-token", "Doppler audit token", family: "Doppler", ["dp.audit."], .alphanumeric, 43...44,
            revoke: "Revoke it in the workplace's audit settings."),
        token(
            "doppler-service-account-token", "Doppler service account token", family: "Doppler", ["dp.sa."],
            .alphanumeric, 43...44, revoke: "Revoke it on the service account's page."),
        token(
            "alibaba-access-key-id", "Alibaba Cloud AccessKey ID", family: "Alibaba", ["LTAI"], .alphanumeric,
            12...20, revoke: "Disable and delete the AccessKey in the RAM console (ram.console.aliyun.com)."),
        assignment(
            "alibaba-access-key-secret", "Alibaba Cloud AccessKey secret", family: "Alibaba",
            keywords: [
                "alibaba_cloud_access_key_secret", "aliyun_access_key_secret", "access_key_secret", "accesskeysecret",
            ],
            .alphanumeric, 30...30, revoke: "Disable and delete the AccessKey in the RAM console."),
        assignment(
            "datadog-api-key", "Datadog API key", family: "Datadog",
            keywords: ["dd_api_key", "datadog_api_key", "datadog_key"], .hexLower, 32...32,
            revoke: "Revoke the key in Datadog (Organization settings > API keys)."),
        assignment(
            "datadog-app-key", "Datadog application key", family: "Datadog",
            keywords: ["dd_app_key", "datadog_app_key", "dd_application_key", "datadog_application_key"], .hexLower,
            40...40, revoke: "Revoke the key in Datadog (Organization settings > Application keys)."),
        token(
            "newrelic-user-api-key", "New Relic user API key", family: "New Relic", ["NRAK-"], .upperAlphanumeric,
            27...27, revoke: "Delete the key at one.newrelic.com/api-keys."),
        token(
            "newrelic-admin-api-key", "New Relic admin API key", family: "New Relic", ["NRAA-"], .alphanumeric,
            27...27, revoke: "Delete the key at one.newrelic.com/api-keys."),
        token(
            "newrelic-insights-insert-key", "New Relic Insights insert key", family: "New Relic", ["NRII-"], .urlSafe,
            32...32, revoke: "Delete the key at one.newrelic.com/api-keys."),
        token(
            "newrelic-insights-query-key", "New Relic Insights query key", family: "New Relic", ["NRIQ-"], .urlSafe,
            32...32, revoke: "Delete the key at one.newrelic.com/api-keys."),
        token(
            "newrelic-browser-key", "New Relic browser API key", family: "New Relic", ["NRJS-"], .hexLower, 19...19,
            revoke: "Delete the key at one.newrelic.com/api-keys.", severity: .warning),
        infix(
            "newrelic-license-key", "New Relic ingest license key", family: "New Relic", "NRAL", before: .hexLower,
            36...36, after: .alphanumeric, 0...0, revoke: "Rotate the license key at one.newrelic.com/api-keys."),
        token(
            "grafana-cloud-token", "Grafana Cloud access policy token", family: "Grafana", ["glc_"], .base64, 32...400,
            revoke: "Delete the token in Grafana Cloud (Access policies)."),
        token(
            "grafana-service-account-token", "Grafana service account token", family: "Grafana", ["glsa_"],
            .alphanumericUnderscore, 41...41, revoke: "Delete the token in Grafana (Administration > Service accounts)."
        ),
        token(
            "grafana-api-key", "Grafana API key (legacy)", family: "Grafana", ["eyJrIjoi"], .base64, 60...200,
            revoke: "Delete the key in Grafana (Administration > API keys)."),
        token(
            "sentry-org-token", "Sentry organization auth token", family: "Sentry", ["sntrys_"], .base64Underscore,
            100...300, revoke: "Revoke the token in Sentry (Settings > Auth Tokens)."),
        token(
            "sentry-user-token", "Sentry user auth token", family: "Sentry", ["sntryu_"], .hexLower, 64...64,
            revoke: "Revoke the token in Sentry (User settings > Personal Tokens)."),
        token(
            "dynatrace-api-token", "Dynatrace API token", family: "Dynatrace", ["dt0c01."], .upperAlphanumericDot,
            89...89, revoke: "Revoke the token in Dynatrace (Access tokens).", check: .separator(46, at: 24)),
        token(
            "planetscale-token", "PlanetScale service token or password", family: "PlanetScale",
            ["pscale_tkn_", "pscale_oauth_", "pscale_pw_"], .urlSafe, 43...64,
            revoke: "Delete it in PlanetScale (Organization settings > Service tokens, or the branch's Passwords)."),
        token(
            "supabase-access-token", "Supabase personal access token", family: "Supabase", ["sbp_"], .hexLower,
            40...40, revoke: "Revoke it at supabase.com/dashboard/account/tokens."),
        token(
            "supabase-secret-key", "Supabase secret API key", family: "Supabase", ["sb_secret_"], .urlSafe, 30...40,
            revoke: "Delete the key in the project's API Keys settings."),
        token(
            "netlify-token", "Netlify personal access token", family: "Netlify", ["nfp_"], .alphanumeric, 36...40,
            revoke: "Revoke it at app.netlify.com/user/applications."),
        token(
            "render-api-key", "Render API key", family: "Render", ["rnd_"], .alphanumeric, 32...32,
            revoke: "Revoke it in Render (Account settings > API Keys)."),
        token(
            "fly-token", "Fly.io token", family: "Fly.io", ["fm2_"], .base64, 100...2000,
            revoke: "Revoke it with fly tokens revoke, or in the dashboard (Tokens)."),
        token(
            "tailscale-key", "Tailscale API, auth or OAuth key", family: "Tailscale",
            ["tskey-api-", "tskey-auth-", "tskey-client-", "tskey-webhook-", "tskey-scim-"], .alphanumericDash,
            30...80, revoke: "Revoke it at login.tailscale.com/admin/settings/keys."),
        token(
            "circleci-token", "CircleCI personal API token", family: "CircleCI", ["CCIPAT_"], .alphanumericUnderscore,
            60...70, revoke: "Delete it at app.circleci.com/settings/user/tokens."),
        token(
            "buildkite-token", "Buildkite API access token", family: "Buildkite", ["bkua_"], .hexLower, 40...40,
            revoke: "Revoke it at buildkite.com/user/api-access-tokens."),
        token(
            "sonarqube-token", "SonarQube / SonarCloud token", family: "SonarQube", ["squ_", "sqp_", "sqa_"],
            .hexLower, 40...40, revoke: "Revoke it in SonarQube (My Account > Security)."),
        token(
            "jfrog-api-key", "JFrog Artifactory API key", family: "JFrog", ["AKCp"], .alphanumeric, 69...69,
            revoke: "Revoke it in the JFrog Platform (Edit profile > API key)."),
        token(
            "jfrog-reference-token", "JFrog reference token", family: "JFrog", ["cmVmdGtuOjAxOj"], .alphanumeric,
            50...60, revoke: "Revoke it in the JFrog Platform (Administration > Identity and Access > Access Tokens)."),
        token(
            "sourcegraph-token", "Sourcegraph access token", family: "Sourcegraph", ["sgp_"], .alphanumericUnderscore,
            40...60, revoke: "Delete it in Sourcegraph (Settings > Access tokens)."),
        token(
            "octopus-deploy-api-key", "Octopus Deploy API key", family: "Octopus Deploy", ["API-"], .upperAlphanumeric,
            26...32, revoke: "Revoke it in Octopus (Profile > My API keys)."),
        token(
            "infracost-api-key", "Infracost API key", family: "Infracost", ["ico-"], .alphanumeric, 32...32,
            revoke: "Rotate it in Infracost Cloud (Org settings)."),
        token(
            "scalingo-api-token", "Scalingo API token", family: "Scalingo", ["tk-us-"], .urlSafe, 48...48,
            revoke: "Delete it in the Scalingo dashboard (User settings > API tokens)."),
        token(
            "prefect-api-key", "Prefect API key", family: "Prefect", ["pnu_"], .alphanumeric, 36...36,
            revoke: "Delete it in Prefect Cloud (Profile > API keys)."),
        assignment(
            "okta-api-token", "Okta API token", family: "Okta",
            keywords: ["okta_api_token", "okta_token", "okta_api_key"],
            .urlSafe, 42...42, revoke: "Revoke it in the Okta admin console (Security > API > Tokens)."),
        // Package registries
        token(
            "npm-token", "npm access token", family: "npm", ["npm_"], .alphanumeric, 36...36,
            revoke: "Revoke it at npmjs.com (Access Tokens) or with npm token revoke.", check: .crc32Base62),
        token(
            "pypi-token", "PyPI API token", family: "PyPI", ["pypi-AgEIcHlwaS5vcmc"], .urlSafe, 50...300,
            revoke: "Remove the token at pypi.org/manage/account/token/."),
        token(
            "pypi-test-token", "TestPyPI API token", family: "PyPI", ["pypi-AgENdGVzdC5weXBpLm9yZw"], .urlSafe,
            50...300, revoke: "Remove the token at test.pypi.org/manage/account/token/.", severity: .warning),
        token(
            "rubygems-api-key", "RubyGems API key", family: "RubyGems", ["rubygems_"], .hexLower, 48...48,
            revoke: "Revoke it at rubygems.org/profile/api_keys."),
        token(
            "nuget-api-key", "NuGet API key", family: "NuGet", ["oy2"], .lowerAlphanumeric, 43...43,
            revoke: "Delete it at nuget.org/account/apikeys."),
        token(
            "dockerhub-token", "Docker Hub access token", family: "Docker Hub", ["dckr_pat_", "dckr_oat_"], .urlSafe,
            27...36, revoke: "Delete it at app.docker.com/settings/personal-access-tokens."),
        token(
            "clojars-token", "Clojars deploy token", family: "Clojars", ["CLOJARS_"], .alphanumeric, 60...60,
            revoke: "Disable it at clojars.org/tokens."),
        // Keys and tokens of other kinds
        token(
            "age-secret-key", "age secret key", family: "age", ["AGE-SECRET-KEY-1"], .upperAlphanumeric, 58...58,
            revoke: "Generate a new identity (age-keygen) and re-encrypt what the old one opened."),
        SecretRule(
            id: "private-key", name: "Private key", prefixes: ["-----BEGIN "], shape: .privateKeyBlock,
            family: "Private keys",
            remediation: "Replace the key pair and remove the public key wherever it is trusted (authorized_keys, "
                + "certificates, deploy keys)."),
        special(
            "private-key-base64", "Private key, base64-encoded (Kubernetes tls.key, kubeconfig client-key-data)",
            family: "Private keys", .encodedPrivateKey, prefixes: ["LS0tLS1CRUdJTi"],
            revoke: "Replace the key pair and the certificate issued for it."),
        special(
            "putty-private-key", "PuTTY private key", family: "Private keys", .puttyKey,
            prefixes: ["PuTTY-User-Key-File-"],
            revoke: "Replace the key pair and remove its public key from authorized_keys."),
        special(
            "jwt", "JSON Web Token", family: "JWT", .jwt, prefixes: ["eyJ"],
            revoke: "Rotate the signing key if the token does not expire soon; revoke the session it stands for.",
            severity: .warning),
    ]

    static let contextRules: [SecretRule] = [
        special(
            "credential-url", "Password in a URL", family: "Context", .credentialURL, keywords: ["://"],
            revoke: "Change the password on the server the URL names."),
        special(
            "basic-auth", "HTTP basic credentials", family: "Context", .basicAuth,
            keywords: ["basic ", "curl -u ", "curl --user ", " -u ", " --user "],
            revoke: "Change the password of the account the credentials name."),
        assignment(
            "npmrc-auth-token", "npm registry token (.npmrc _authToken)", family: "Context", keywords: ["_authtoken"],
            .urlSafeDot, 20...300, revoke: "Revoke it at the registry (npm token revoke)."),
        SecretRule(
            id: "npmrc-auth", name: "npm registry credentials (.npmrc _auth)", prefixes: [],
            shape: .assignment(alphabet: .base64, minimum: 8, maximum: 300), family: "Context",
            remediation: "Change the registry password the value encodes.", keywords: ["_auth"],
            check: .base64UserPassword),
        SecretRule(
            id: "docker-config-auth", name: "Docker registry credentials (config.json auth)", prefixes: [],
            shape: .assignment(alphabet: .base64, minimum: 8, maximum: 600), family: "Context",
            remediation: "docker logout the registry and change the password or token the value encodes.",
            keywords: ["\"auth\""], check: .base64UserPassword),
        SecretRule(
            id: "netrc-password", name: ".netrc password", prefixes: [],
            shape: .assignment(alphabet: .password, minimum: 6, maximum: 200), family: "Context",
            remediation: "Change the password on the machine the entry names.", keywords: ["password"],
            check: .netrcLine),
        assignment(
            "client-secret", "OAuth client secret", family: "Context",
            keywords: ["client_secret", "clientsecret", "client-secret", "consumer_secret", "app_secret"],
            .password, 16...200, revoke: "Regenerate the client secret at the identity provider.",
            check: .secretValue),
        assignment(
            "generic-password", "Password in code or configuration", family: "Context",
            keywords: ["password", "passwd", "db_pass", "pwd"], .password, 8...200,
            revoke: "Change the password; keep the new one in Keyway or a secret store.", check: .secretValue),
        assignment(
            "generic-api-key", "API key in code or configuration", family: "Context",
            keywords: ["api_key", "apikey", "api-key", "access_key", "private_key"], .password, 16...200,
            revoke: "Revoke the key at its provider; keep the new one in Keyway.", check: .secretValue),
        assignment(
            "generic-secret", "Secret in code or configuration", family: "Context", keywords: ["secret"], .password,
            16...200, revoke: "Rotate the secret; keep the new one in Keyway or a secret store.", check: .secretValue),
        assignment(
            "generic-token", "Token in code or configuration", family: "Context",
            keywords: ["token", "bearer"], .password, 20...500,
            revoke: "Revoke the token at its issuer; keep the new one in Keyway.", check: .secretValue),
    ]
}

extension SecretRule {
    /// What the rule matches, for people (the README table).
    public var formatDescription: String {
        func code(_ items: [String]) -> String {
            items.map {
                "`" + $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") + "`"
            }.joined(separator: ", ")
        }
        func length(_ minimum: Int, _ maximum: Int) -> String {
            minimum == maximum ? "\(minimum)" : "\(minimum)–\(maximum)"
        }
        var text: String
        switch shape {
        case .token(let alphabet, let minimum, let maximum):
            text = "\(code(prefixes)) + \(length(minimum, maximum)) \(alphabet.description)"
        case .assignment(let alphabet, let minimum, let maximum):
            text = "\(code(keywords)) assigned \(length(minimum, maximum)) \(alphabet.description)"
        case .infix(let before, let bMin, let bMax, let after, let aMin, let aMax):
            text =
                "\(length(bMin, bMax)) \(before.description) + \(code(prefixes))"
                + (aMax > 0 ? " + \(length(aMin, aMax)) \(after.description)" : "")
        case .privateKeyBlock:
            text = "`-----BEGIN … PRIVATE KEY-----` and key material (also with `\\n` escapes inside a JSON string)"
        case .encodedPrivateKey: text = "\(code(prefixes)): base64 of a PEM private key, decoded and checked"
        case .puttyKey: text = "`PuTTY-User-Key-File-2:`/`-3:` with its `Private-Lines`"
        case .jwt: text = "`eyJ` header.payload.signature, the header naming its `alg`"
        case .credentialURL: text = "`scheme://user:password@host` (postgres, mysql, mongodb+srv, redis, amqp, https…)"
        case .basicAuth: text = "`Authorization: Basic` base64(user:password); `curl -u user:password`"
        case .sasSignature: text = "`sig=` in a URL with `sv=` and `se=`/`sp=`"
        }
        switch check {
        case .crc32Base62: text += "; CRC32 tail checked"
        case .contains(let literal): text += "; holds `\(literal)`"
        case .telegramBot: text += " (`<bot id>:<35>`)"
        case .discordBot: text += " (three dot-separated parts)"
        case .uuid: text += " (a UUID)"
        case .base64UserPassword: text += " (base64 of user:password)"
        case .netrcLine: text += " on a `machine … login …` line"
        case .secretValue: text += " that looks like a secret (not a reference, template or placeholder)"
        default: break
        }
        return text
    }

    /// The README's table of the rules: id, provider, format, severity, where to revoke.
    public static func markdownTable(_ rules: [SecretRule]) -> String {
        var out = "| rule | provider | format | severity | revoke |\n| --- | --- | --- | --- | --- |\n"
        for rule in rules {
            let cells = [
                "`\(rule.id)`", rule.family, rule.formatDescription, rule.severity.rawValue,
                rule.remediation.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|"),
            ]
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

extension SecretRule.Alphabet: CustomStringConvertible {
    public var description: String {
        switch self {
        case .alphanumeric: return "`A-Za-z0-9`"
        case .upperAlphanumeric: return "`A-Z0-9`"
        case .lowerAlphanumeric: return "`a-z0-9`"
        case .urlSafe: return "`A-Za-z0-9_-`"
        case .urlSafeDot: return "`A-Za-z0-9_.-`"
        case .urlSafeEquals: return "`A-Za-z0-9_=-`"
        case .alphanumericDash: return "`A-Za-z0-9-`"
        case .alphanumericUnderscore: return "`A-Za-z0-9_`"
        case .alphanumericDot: return "`A-Za-z0-9.`"
        case .upperAlphanumericDot: return "`A-Z0-9.`"
        case .hexLower: return "`0-9a-f`"
        case .hex: return "`0-9a-fA-F`"
        case .hexDash: return "`0-9a-f-`"
        case .digits: return "`0-9`"
        case .base64: return "`A-Za-z0-9+/=`"
        case .base64Underscore: return "`A-Za-z0-9+/=_`"
        case .urlPath: return "`A-Za-z0-9_-/`"
        case .teamsPath: return "`A-Za-z0-9_-/@`"
        case .azureSecret: return "`A-Za-z0-9_~.-`"
        case .telegram: return "`0-9A-Za-z_:-`"
        case .password: return "printable characters"
        }
    }
}
