#!/usr/bin/env python3
"""Key formats from the providers' documentation (prefix, length, alphabet, checksum), and decoys that must not fire.

  leakcheck_formats.py corpus DIR PLANTED.json   a coverage corpus: DIR/tree, one file per provider format (the key
                                                 in a realistic line) and the decoy files, committed once; DIR/repo,
                                                 whose history alone holds a second key of each family
  leakcheck_formats.py swift                               the positive cases of Tests/LeakCheckTests/RuleTableTests
                                                           (prefix and body apart, so the test source holds no key)

Deterministic (seeded). The formats are written from the documented shapes, independently of Keyway's rule table:
the benchmark measures the table against them."""
import base64, json, os, random, string, subprocess, sys, zlib

rng = random.Random(20261202)
UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B62 = DIGITS + UPPER + LOWER

def r(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))

def b62(n, width=6):
    s = ""
    while n:
        s = B62[n % 62] + s
        n //= 62
    return s.rjust(width, "0")

def crc_token(prefix):
    body = r(ALNUM, 30)
    return prefix + body + b62(zlib.crc32(body.encode()))

def uuid():
    return f"{r(HEX, 8)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 12)}"

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def jwt():
    header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64url(json.dumps({"sub": r(DIGITS, 10), "iat": 1700000000 + rng.randint(0, 10**6)}).encode())
    return f"{header}.{payload}.{b64url(bytes(rng.getrandbits(8) for _ in range(32)))}"

def pem_body(lines=12):
    return "\n".join(base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48))).decode() for _ in range(lines))

def pem(label="RSA PRIVATE KEY"):
    return f"-----BEGIN {label}-----\n{pem_body()}\n-----END {label}-----\n"

def password():
    return r(LOWER, 4) + r(DIGITS, 2) + r(UPPER, 3) + rng.choice("!#%+") + r(ALNUM, 6)

# rule id -> (family, generator, line template). {k} is the key.
F = {}
def fmt(rule, family, gen, line="API_KEY = \"{k}\""):
    F.setdefault(rule, []).append((family, gen, line))

fmt("aws-access-key-id", "AWS", lambda: rng.choice(["AKIA", "ASIA"]) + r(UPPER + "234567", 16), "aws_access_key_id = {k}")
fmt("aws-secret-access-key", "AWS", lambda: r(B64, 40), "aws_secret_access_key = {k}")
fmt("aws-session-token", "AWS", lambda: "IQoJb3JpZ2luX2Vj" + r(B64, 300), "AWS_SESSION_TOKEN={k}")
fmt("aws-bedrock-api-key", "AWS", lambda: "ABSKQmVkcm9ja0FQSUtleS" + r(B64, 110), "AWS_BEARER_TOKEN_BEDROCK={k}")
fmt("aws-mws-key", "AWS", lambda: "amzn.mws." + uuid())
for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]:
    fmt("github-token", "GitHub", lambda p=p: crc_token(p), "GITHUB_TOKEN={k}")
fmt("github-fine-grained-token", "GitHub", lambda: "github_pat_11" + r(UPPER + DIGITS, 20) + "_" + r(ALNUM, 59))
fmt("github-installation-token-v1", "GitHub", lambda: "v1." + r(HEX, 40), "token: {k}")
fmt("github-oauth-client-secret", "GitHub", lambda: r(HEX, 40), "GITHUB_CLIENT_SECRET={k}")
for rule, p, a, n in [
    ("gitlab-token", "glpat-", URLSAFE, 20), ("gitlab-deploy-token", "gldt-", URLSAFE, 20),
    ("gitlab-runner-token", "glrt-", URLSAFE, 20), ("gitlab-runner-registration-token", "GR1348941", URLSAFE, 20),
    ("gitlab-pipeline-trigger-token", "glptt-", HEX, 40), ("gitlab-feed-token", "glft-", URLSAFE, 20),
    ("gitlab-incoming-mail-token", "glimt-", URLSAFE, 25), ("gitlab-oauth-app-secret", "gloas-", URLSAFE, 64),
    ("gitlab-agent-token", "glagent-", URLSAFE, 50), ("gitlab-scim-token", "glsoat-", URLSAFE, 20),
    ("gitlab-feature-flags-token", "glffct-", URLSAFE, 20), ("gitlab-cicd-job-token", "glcbt-", URLSAFE, 40),
    ("gitlab-workspace-token", "glwt-", URLSAFE, 20),
]:
    fmt(rule, "GitLab", lambda p=p, a=a, n=n: p + r(a, n), "GITLAB_TOKEN={k}")
fmt("slack-token", "Slack", lambda: rng.choice(["xoxb-", "xoxp-"]) + r(DIGITS, 11) + "-" + r(DIGITS, 12) + "-" + r(ALNUM, 24))
fmt("slack-config-token", "Slack", lambda: "xoxe.xoxp-1-" + r(ALNUM, 150))
fmt("slack-refresh-token", "Slack", lambda: "xoxe-1-" + r(ALNUM, 140))
fmt("slack-app-token", "Slack", lambda: "xapp-1-A" + r(UPPER + DIGITS, 10) + "-" + r(DIGITS, 13) + "-" + r(HEX, 64))
fmt("slack-webhook-url", "Slack", lambda: "https://hooks.slack.com/services/T" + r(UPPER + DIGITS, 8) + "/B" + r(UPPER + DIGITS, 10) + "/" + r(ALNUM, 24), "webhook_url: {k}")
fmt("stripe-live-key", "Stripe", lambda: rng.choice(["sk_live_", "rk_live_"]) + r(ALNUM, 99))
fmt("stripe-test-key", "Stripe", lambda: "sk_test_" + r(ALNUM, 99))
fmt("stripe-webhook-secret", "Stripe", lambda: "whsec_" + r(ALNUM, 32), "STRIPE_WEBHOOK_SECRET={k}")
fmt("openai-project-key", "OpenAI", lambda: "sk-proj-" + r(URLSAFE, 74) + "T3BlbkFJ" + r(URLSAFE, 74), "OPENAI_API_KEY={k}")
fmt("openai-service-account-key", "OpenAI", lambda: "sk-svcacct-" + r(URLSAFE, 74) + "T3BlbkFJ" + r(URLSAFE, 74))
fmt("openai-admin-key", "OpenAI", lambda: "sk-admin-" + r(URLSAFE, 74) + "T3BlbkFJ" + r(URLSAFE, 74))
fmt("openai-api-key", "OpenAI", lambda: "sk-" + r(ALNUM, 20) + "T3BlbkFJ" + r(ALNUM, 20), "openai.api_key = \"{k}\"")
fmt("anthropic-api-key", "Anthropic", lambda: "sk-ant-api03-" + r(URLSAFE, 93) + "AA", "ANTHROPIC_API_KEY={k}")
fmt("anthropic-admin-key", "Anthropic", lambda: "sk-ant-admin01-" + r(URLSAFE, 93) + "AA")
fmt("anthropic-oauth-token", "Anthropic", lambda: "sk-ant-oat01-" + r(URLSAFE, 93) + "AA")
fmt("huggingface-token", "Hugging Face", lambda: "hf_" + r(UPPER + LOWER, 34), "HF_TOKEN={k}")
fmt("huggingface-org-token", "Hugging Face", lambda: "api_org_" + r(UPPER + LOWER, 34))
fmt("groq-api-key", "Groq", lambda: "gsk_" + r(ALNUM, 52), "GROQ_API_KEY={k}")
fmt("replicate-api-token", "Replicate", lambda: "r8_" + r(ALNUM, 37), "REPLICATE_API_TOKEN={k}")
fmt("perplexity-api-key", "Perplexity", lambda: "pplx-" + r(ALNUM, 48), "PERPLEXITY_API_KEY={k}")
fmt("xai-api-key", "xAI", lambda: "xai-" + r(ALNUM, 80))
fmt("openrouter-api-key", "OpenRouter", lambda: "sk-or-v1-" + r(HEX, 64))
fmt("langsmith-api-key", "LangSmith", lambda: "lsv2_pt_" + r(HEX, 32) + "_" + r(HEX, 10))
fmt("pinecone-api-key", "Pinecone", lambda: "pcsk_" + r(ALNUM, 6) + "_" + r(ALNUM, 63))
fmt("elevenlabs-api-key", "ElevenLabs", lambda: "sk_" + r(HEX, 48), "ELEVENLABS_API_KEY={k}")
fmt("google-api-key", "Google", lambda: "AIza" + r(URLSAFE, 35))
fmt("google-oauth-client-secret", "Google", lambda: "GOCSPX-" + r(URLSAFE, 28), '"client_secret": "{k}"')
fmt("google-oauth-access-token", "Google", lambda: "ya29.a0" + r(URLSAFE, 150))
fmt("google-oauth-refresh-token", "Google", lambda: "1//0" + r(URLSAFE, 100), '"refresh_token": "{k}"')
fmt("firebase-cloud-messaging-server-key", "Google", lambda: "AAAA" + r(URLSAFE, 7) + ":APA91b" + r(URLSAFE, 134), "FCM_SERVER_KEY={k}")
fmt("azure-storage-account-key", "Azure", lambda: "DefaultEndpointsProtocol=https;AccountName=" + r(LOWER, 10) + ";AccountKey=" + r(B64, 86) + "==;EndpointSuffix=core.windows.net", 'conn = "{k}"')
fmt("azure-shared-access-key", "Azure", lambda: "Endpoint=sb://" + r(LOWER, 8) + ".servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + r(B64, 43) + "=", 'conn = "{k}"')
fmt("azure-ad-client-secret", "Azure", lambda: r(ALNUM, 3) + rng.choice(DIGITS) + "Q~" + r(ALNUM + "_~.-", 34), "AZURE_CLIENT_SECRET={k}")
fmt("azure-sas-token", "Azure", lambda: "https://" + r(LOWER, 8) + ".blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig=" + r(ALNUM, 40) + "%2B" + r(ALNUM, 2) + "%3D", "url: {k}")
fmt("azure-openai-api-key", "Azure", lambda: r(HEX, 32), "AZURE_OPENAI_API_KEY={k}")
fmt("azure-devops-pat", "Azure", lambda: r(LOWER + "234567", 52), "AZURE_DEVOPS_PAT={k}")
fmt("twilio-api-key", "Twilio", lambda: "SK" + r(HEX, 32))
fmt("twilio-auth-token", "Twilio", lambda: r(HEX, 32), "TWILIO_AUTH_TOKEN={k}")
fmt("sendgrid-api-key", "SendGrid", lambda: "SG." + r(URLSAFE, 22) + "." + r(URLSAFE, 43), "SENDGRID_API_KEY={k}")
fmt("mailgun-api-key", "Mailgun", lambda: "key-" + r(HEX, 32))
fmt("mailgun-signing-key", "Mailgun", lambda: r(HEX, 32) + "-" + r(HEX, 8) + "-" + r(HEX, 8), "MAILGUN_SIGNING_KEY={k}")
fmt("mailchimp-api-key", "Mailchimp", lambda: r(HEX, 32) + "-us" + str(rng.randint(1, 21)), "MAILCHIMP_KEY={k}")
fmt("brevo-api-key", "Brevo", lambda: "xkeysib-" + r(HEX, 64) + "-" + r(ALNUM, 16))
fmt("brevo-smtp-key", "Brevo", lambda: "xsmtpsib-" + r(HEX, 64) + "-" + r(ALNUM, 16))
fmt("resend-api-key", "Resend", lambda: "re_" + r(ALNUM, 8) + "_" + r(ALNUM, 24))
fmt("klaviyo-private-key", "Klaviyo", lambda: "pk_" + r(HEX, 34))
fmt("discord-bot-token", "Discord", lambda: rng.choice("MN") + r(ALNUM, 23) + "." + r(URLSAFE, 6) + "." + r(URLSAFE, 38), "DISCORD_TOKEN={k}")
fmt("discord-webhook-url", "Discord", lambda: "https://discord.com/api/webhooks/" + r(DIGITS, 18) + "/" + r(URLSAFE, 68))
fmt("telegram-bot-token", "Telegram", lambda: r(DIGITS, 10) + ":AA" + r(URLSAFE, 33), "TELEGRAM_BOT_TOKEN={k}")
fmt("telegram-bot-url", "Telegram", lambda: "https://api.telegram.org/bot" + r(DIGITS, 10) + ":AA" + r(URLSAFE, 33), "url = \"{k}/sendMessage\"")
fmt("microsoft-teams-webhook-url", "Microsoft Teams", lambda: "https://" + r(LOWER, 8) + ".webhook.office.com/webhookb2/" + uuid() + "@" + uuid() + "/IncomingWebhook/" + r(HEX, 32) + "/" + uuid())
fmt("zapier-webhook-url", "Zapier", lambda: "https://hooks.zapier.com/hooks/catch/" + r(DIGITS, 7) + "/" + r(LOWER + DIGITS, 6) + "/")
for rule, p in [("shopify-access-token", "shpat_"), ("shopify-custom-app-token", "shpca_"), ("shopify-private-app-token", "shppa_"), ("shopify-shared-secret", "shpss_")]:
    fmt(rule, "Shopify", lambda p=p: p + r(HEX, 32))
fmt("square-access-token", "Square", lambda: "EAAA" + r(URLSAFE, 60))
fmt("square-legacy-access-token", "Square", lambda: "sq0atp-" + r(URLSAFE, 22))
fmt("square-oauth-secret", "Square", lambda: "sq0csp-" + r(URLSAFE, 43))
fmt("flutterwave-secret-key", "Flutterwave", lambda: "FLWSECK-" + r(HEX, 32) + "-X")
fmt("easypost-api-key", "EasyPost", lambda: "EZAK" + r(ALNUM, 54))
fmt("shippo-api-token", "Shippo", lambda: "shippo_live_" + r(HEX, 40))
fmt("duffel-api-token", "Duffel", lambda: "duffel_live_" + r(URLSAFE, 43))
fmt("woocommerce-consumer-key", "WooCommerce", lambda: "cs_" + r(HEX, 40))
fmt("atlassian-api-token", "Atlassian", lambda: "ATATT3xFfGF0" + r(URLSAFE, 170) + "=" + r(HEX, 8))
fmt("atlassian-connect-token", "Atlassian", lambda: "ATCTT3xFfGN0" + r(URLSAFE, 100))
fmt("bitbucket-app-password", "Atlassian", lambda: "ATBB" + r(ALNUM, 32))
fmt("linear-api-key", "Linear", lambda: "lin_api_" + r(ALNUM, 40))
fmt("linear-oauth-token", "Linear", lambda: "lin_oauth_" + r(HEX, 64))
fmt("notion-integration-token", "Notion", lambda: "ntn_" + r(DIGITS, 11) + r(ALNUM, 35))
fmt("notion-legacy-token", "Notion", lambda: "secret_" + r(ALNUM, 43), "NOTION_TOKEN={k}")
fmt("postman-api-key", "Postman", lambda: "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34))
fmt("algolia-admin-key", "Algolia", lambda: r(HEX, 32), "ALGOLIA_ADMIN_KEY={k}")
fmt("figma-token", "Figma", lambda: "figd_" + r(URLSAFE, 40))
fmt("airtable-pat", "Airtable", lambda: "pat" + r(ALNUM, 14) + "." + r(HEX, 64))
fmt("contentful-pat", "Contentful", lambda: "CFPAT-" + r(URLSAFE, 43))
fmt("typeform-token", "Typeform", lambda: "tfp_" + r(URLSAFE, 44) + "_" + r(URLSAFE, 14))
fmt("readme-api-key", "ReadMe", lambda: "rdme_" + r(LOWER + DIGITS, 70))
fmt("frameio-token", "Frame.io", lambda: "fio-u-" + r(URLSAFE, 64))
fmt("dropbox-access-token", "Dropbox", lambda: "sl." + r(URLSAFE, 135))
fmt("mapbox-secret-token", "Mapbox", lambda: "sk.eyJ1Ijoi" + r(ALNUM, 50) + "." + r(URLSAFE, 22))
fmt("facebook-access-token", "Meta", lambda: "EAACEdEose0cBA" + r(ALNUM, 150))
fmt("digitalocean-pat", "DigitalOcean", lambda: "dop_v1_" + r(HEX, 64))
fmt("digitalocean-oauth-token", "DigitalOcean", lambda: "doo_v1_" + r(HEX, 64))
fmt("digitalocean-refresh-token", "DigitalOcean", lambda: "dor_v1_" + r(HEX, 64))
fmt("heroku-api-key", "Heroku", lambda: "HRKU-AA" + r(URLSAFE, 58))
fmt("heroku-api-key-legacy", "Heroku", lambda: uuid(), "HEROKU_API_KEY={k}")
fmt("cloudflare-api-token", "Cloudflare", lambda: r(URLSAFE, 40), "CLOUDFLARE_API_TOKEN={k}")
fmt("cloudflare-global-api-key", "Cloudflare", lambda: r(HEX, 37), "CLOUDFLARE_API_KEY={k}")
fmt("cloudflare-origin-ca-key", "Cloudflare", lambda: "v1.0-" + r(HEX, 24) + "-" + r(HEX, 146))
fmt("vault-service-token", "Vault", lambda: "hvs." + r(URLSAFE, 90), "VAULT_TOKEN={k}")
fmt("vault-batch-token", "Vault", lambda: "hvb." + r(URLSAFE, 138), "VAULT_TOKEN={k}")
fmt("vault-recovery-token", "Vault", lambda: "hvr." + r(URLSAFE, 24))
fmt("terraform-cloud-token", "Terraform", lambda: r(ALNUM, 14) + ".atlasv1." + r(URLSAFE, 67), 'token = "{k}"')
fmt("pulumi-access-token", "Pulumi", lambda: "pul-" + r(HEX, 40))
fmt("databricks-token", "Databricks", lambda: "dapi" + r(HEX, 32))
for rule, p in [("doppler-personal-token", "dp.pt."), ("doppler-cli-token", "dp.ct."), ("doppler-scim-token", "dp.scim."), ("doppler-audit-token", "dp.audit."), ("doppler-service-account-token", "dp.sa.")]:
    fmt(rule, "Doppler", lambda p=p: p + r(ALNUM, 43))
fmt("doppler-service-token", "Doppler", lambda: "dp.st.prd." + r(ALNUM, 43))
fmt("alibaba-access-key-id", "Alibaba", lambda: "LTAI" + r(ALNUM, 20))
fmt("alibaba-access-key-secret", "Alibaba", lambda: r(ALNUM, 30), "ALIBABA_CLOUD_ACCESS_KEY_SECRET={k}")
fmt("datadog-api-key", "Datadog", lambda: r(HEX, 32), "DD_API_KEY={k}")
fmt("datadog-app-key", "Datadog", lambda: r(HEX, 40), "DD_APP_KEY={k}")
fmt("newrelic-user-api-key", "New Relic", lambda: "NRAK-" + r(UPPER + DIGITS, 27))
fmt("newrelic-admin-api-key", "New Relic", lambda: "NRAA-" + r(HEX, 27))
fmt("newrelic-insights-insert-key", "New Relic", lambda: "NRII-" + r(URLSAFE, 32))
fmt("newrelic-insights-query-key", "New Relic", lambda: "NRIQ-" + r(URLSAFE, 32))
fmt("newrelic-browser-key", "New Relic", lambda: "NRJS-" + r(HEX, 19))
fmt("newrelic-license-key", "New Relic", lambda: r(HEX, 36) + "NRAL", "NEW_RELIC_LICENSE_KEY={k}")
fmt("grafana-cloud-token", "Grafana", lambda: "glc_" + base64.b64encode(json.dumps({"o": r(DIGITS, 6), "n": "stack-" + r(DIGITS, 6), "k": r(ALNUM, 24)}).encode()).decode().rstrip("="))
fmt("grafana-service-account-token", "Grafana", lambda: "glsa_" + r(ALNUM, 32) + "_" + r(HEX, 8))
fmt("grafana-api-key", "Grafana", lambda: "eyJrIjoi" + r(ALNUM, 64) + "==")
fmt("sentry-org-token", "Sentry", lambda: "sntrys_eyJpYXQiO" + r(ALNUM, 150) + "_" + r(URLSAFE, 43).replace("-", "a"))
fmt("sentry-user-token", "Sentry", lambda: "sntryu_" + r(HEX, 64))
fmt("dynatrace-api-token", "Dynatrace", lambda: "dt0c01." + r(UPPER + DIGITS, 24) + "." + r(UPPER + DIGITS, 64))
fmt("planetscale-token", "PlanetScale", lambda: "pscale_tkn_" + r(URLSAFE, 43))
fmt("supabase-access-token", "Supabase", lambda: "sbp_" + r(HEX, 40))
fmt("supabase-secret-key", "Supabase", lambda: "sb_secret_" + r(URLSAFE, 31))
fmt("netlify-token", "Netlify", lambda: "nfp_" + r(ALNUM, 36))
fmt("render-api-key", "Render", lambda: "rnd_" + r(ALNUM, 32))
fmt("fly-token", "Fly.io", lambda: "fm2_" + r(B64, 300))
fmt("tailscale-key", "Tailscale", lambda: "tskey-auth-k" + r(ALNUM, 10) + "CNTRL-" + r(ALNUM, 32))
fmt("circleci-token", "CircleCI", lambda: "CCIPAT_" + r(ALNUM, 22) + "_" + r(HEX, 40))
fmt("buildkite-token", "Buildkite", lambda: "bkua_" + r(HEX, 40))
fmt("sonarqube-token", "SonarQube", lambda: rng.choice(["squ_", "sqp_", "sqa_"]) + r(HEX, 40))
fmt("jfrog-api-key", "JFrog", lambda: "AKCp" + r(ALNUM, 69))
fmt("jfrog-reference-token", "JFrog", lambda: "cmVmdGtuOjAxOj" + r(ALNUM, 50))
fmt("sourcegraph-token", "Sourcegraph", lambda: "sgp_" + r(HEX, 16) + "_" + r(HEX, 40))
fmt("octopus-deploy-api-key", "Octopus Deploy", lambda: "API-" + r(UPPER + DIGITS, 26))
fmt("infracost-api-key", "Infracost", lambda: "ico-" + r(ALNUM, 32))
fmt("scalingo-api-token", "Scalingo", lambda: "tk-us-" + r(URLSAFE, 48))
fmt("prefect-api-key", "Prefect", lambda: "pnu_" + r(ALNUM, 36))
fmt("okta-api-token", "Okta", lambda: "00" + r(URLSAFE, 40), "OKTA_API_TOKEN={k}")
fmt("npm-token", "npm", lambda: crc_token("npm_"), "//registry.npmjs.org/:_authToken={k}")
fmt("pypi-token", "PyPI", lambda: "pypi-AgEIcHlwaS5vcmc" + r(URLSAFE, 150), "password = {k}")
fmt("pypi-test-token", "PyPI", lambda: "pypi-AgENdGVzdC5weXBpLm9yZw" + r(URLSAFE, 150), "password = {k}")
fmt("rubygems-api-key", "RubyGems", lambda: "rubygems_" + r(HEX, 48))
fmt("nuget-api-key", "NuGet", lambda: "oy2" + r(LOWER + DIGITS, 43))
fmt("dockerhub-token", "Docker Hub", lambda: "dckr_pat_" + r(URLSAFE, 27))
fmt("clojars-token", "Clojars", lambda: "CLOJARS_" + r(ALNUM, 60))
fmt("age-secret-key", "age", lambda: "AGE-SECRET-KEY-1" + r("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58), "{k}")
fmt("jwt", "JWT", jwt, "Authorization: Bearer {k}")
fmt("credential-url", "Context", lambda: f"postgres://app:{password()}@db.internal:5432/app", "DATABASE_URL={k}")
fmt("credential-url", "Context", lambda: f"mongodb+srv://svc:{password()}@cluster0.mongodb.net/db", 'uri: "{k}"')
fmt("basic-auth", "Context", lambda: base64.b64encode(f"deploy:{password()}".encode()).decode(), 'headers = {{"Authorization": "Basic {k}"}}')
fmt("basic-auth", "Context", lambda: f"deploy:{password()}", "curl -u {k} https://api.internal/v1/items")
fmt("npmrc-auth-token", "Context", uuid, "//npm.internal/:_authToken={k}")
fmt("generic-password", "Context", lambda: base64.b64encode(password().encode()).decode(), "  db-password: {k}")
fmt("npmrc-auth", "Context", lambda: base64.b64encode(f"ci:{password()}".encode()).decode(), "//npm.internal/:_auth={k}")
fmt("docker-config-auth", "Context", lambda: base64.b64encode(f"robot:{password()}".encode()).decode(), '{{"auths": {{"registry.internal": {{"auth": "{k}"}}}}}}')
fmt("netrc-password", "Context", password, "machine api.internal login deploy password {k}")
fmt("client-secret", "Context", lambda: r(ALNUM, 12) + "~" + r(ALNUM, 20), 'client_secret: "{k}"')
fmt("generic-password", "Context", password, 'DB_PASSWORD="{k}"')
fmt("generic-password", "Context", password, "spring.datasource.password={k}")
fmt("generic-api-key", "Context", lambda: r(ALNUM, 32), "api_key: {k}")
fmt("generic-secret", "Context", lambda: r(ALNUM, 40), 'secret = "{k}"')
fmt("generic-token", "Context", lambda: r(ALNUM, 24) + "." + r(ALNUM, 16), 'auth_token = "{k}"')

def private_keys():
    yield "private-key", "Private keys", pem(), "{k}"
    yield "private-key", "Private keys", pem("OPENSSH PRIVATE KEY"), "{k}"
    json_pem = pem("PRIVATE KEY").replace("\n", "\\n")
    yield "private-key", "Private keys", json_pem, '{{"type": "service_account", "private_key": "{k}"}}'
    yield "private-key-base64", "Private keys", base64.b64encode(pem("EC PRIVATE KEY").encode()).decode(), "  tls.key: {k}"
    body = "\n".join(r(B64, 64) for _ in range(14))
    yield "putty-private-key", "Private keys", f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\n{r(B64, 64)}\n{r(B64, 20)}\nPrivate-Lines: 14\n{body}\nPrivate-MAC: {r(HEX, 64)}", "{k}"

# Decoys: none may fire.
def decoys():
    d = [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "export REFLEX_API_KEY=rfx_xxxxxxxx", 'api_key = "your_key_here"', 'token = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        "GITHUB_TOKEN=ghp_" + r(ALNUM, 36), "npm_" + r(ALNUM, 36), "sk_live_EXAMPLEEXAMPLEEXAMPLEEXAMPLE",
        "OPENAI_API_KEY=sk-...", "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ANTHROPIC_API_KEY=sk-ant-api03-...", "password = changeme", "password: ${DB_PASSWORD}", 'password = os.environ["DB_PASSWORD"]',
        "password: {{ .Values.password }}", 'secret = "<your secret here>"', "token: REPLACE_ME", "DB_PASSWORD=", 'password = ""',
        "    password = self.password", "const token = getToken();", "password_hash = \"$2b$12$" + r(B64, 53) + '"',
        f'"integrity": "sha512-{base64.b64encode(bytes(rng.getrandbits(8) for _ in range(64))).decode()}"',
        f"github.com/pkg/errors v0.9.1 h1:{base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()}",
        f"requests==2.31.0 --hash=sha256:{r(HEX, 64)}", f"image: nginx@sha256:{r(HEX, 64)}",
        f"sha256 = \"{r(HEX, 64)}\"", f"commit {r(HEX, 40)}", f"md5: {r(HEX, 32)}", f"id = \"{uuid()}\"",
        f"request_id: {uuid()}", f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{r(B64, 300)} user@host",
        f"-----BEGIN CERTIFICATE-----\n{pem_body()}\n-----END CERTIFICATE-----",
        f"-----BEGIN PUBLIC KEY-----\n{pem_body(5)}\n-----END PUBLIC KEY-----",
        f"<img src=\"data:image/png;base64,iVBORw0KGgo{r(B64, 400)}\">",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "postgres://user:password@localhost:5432/db", "redis://:${REDIS_PASSWORD}@redis:6379", "amqp://guest:guest@localhost:5672/",
        "mongodb://<username>:<password>@host/db", "https://user:pass@example.com/", "curl -u user:password https://x",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==", "token_count = 12", "tokenizer = Tokenizer(vocab)",
        f"secretName: my-app-secret", "password_confirmation: required", "const PASSWORD_MIN_LENGTH = 12",
        '!function(e){var t={password:e.password,token:n.token};return t}', "if (password == confirm) {",
        "export AWS_SECRET_ACCESS_KEY=$(vault read -field=secret aws/creds)", "xoxb-your-token",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "glpat-xxxxxxxxxxxxxxxxxxxx", "hvs.XXXXXXXXXXXXXXXXXXXXXXXX", "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "eyJhbGciOiJIUzI1NiJ9.e30.", "version: 1.2.3-rc.4", f"uuid: {uuid()}", "API-KEY-HERE", "dapi_example_token",
        "client_secret: YOUR_CLIENT_SECRET", "api_key: demo", 'apiKey: "test-key"', "AIzaSyEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXA",
        "pk_test_TYooMQauvdEDq54NiTphI7jx", "rk_test_placeholder", f"commit_sha = '{r(HEX, 40)}'",
        f"checksum: {r(HEX, 64)}", f"fingerprint = \"{':'.join(r(HEX, 2) for _ in range(16))}\"",
        "machine github.com login user password ${GITHUB_TOKEN}", "[pypi]\nusername = __token__\npassword = <your token>",
        "kind: Secret\ndata:\n  password: cGFzc3dvcmQ=", "tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" + r(B64, 200),
        "token: ${{ secrets.GITHUB_TOKEN }}", "password = getpass.getpass()", "TOKEN = None", "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>",
        "api_key = settings.API_KEY", "password: !vault |", "key: " + r(HEX, 12), "PASSWORD=********",
        f"x = \"{r(LOWER, 40)}\"", f"{r(ALNUM, 20)}", "sk-ant-api03-xxxxxxxx", "sq0atp-XXXXXXXXXXXXXXXXXXXXXX",
        "SK00000000000000000000000000000000", "key-00000000000000000000000000000000", "dop_v1_" + "0" * 64,
    ]
    # A minified bundle line.
    d.append("var a=" + ",".join(f'{r(LOWER, 2)}:"{r(ALNUM, 6)}"' for _ in range(300)) + ";")
    return d

def all_positives():
    out = []
    for rule, entries in F.items():
        for family, gen, line in entries:
            key = gen()
            out.append((rule, family, key, line.format(k=key)))
    for rule, family, key, line in private_keys():
        out.append((rule, family, key, line.format(k=key)))
    return out

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@example.invalid", GIT_AUTHOR_DATE="1700000000 +0000",
               GIT_COMMITTER_DATE="1700000000 +0000", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")

def corpus(top, planted_path):
    """TOP/tree: one file per format and the decoys, committed once (so history-only tools can read it too);
    TOP/repo: a second key of each family, each committed and removed again (history only)."""
    directory = os.path.join(top, "tree")
    os.makedirs(directory, exist_ok=True)
    planted = []
    filler = ["import os", "def main():", "    return run(args)", "# settings", "timeout = 30", "retries = 3"]
    for i, (rule, family, key, line) in enumerate(all_positives()):
        path = os.path.join(directory, f"src/{family.lower().replace(' ', '_').replace('.', '')}/{rule}_{i:03d}.conf")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(rng.sample(filler, 3) + [line] + rng.sample(filler, 2)) + "\n")
        planted.append({"rule": rule, "family": family, "key": key, "path": path, "where": "tree"})
    for i, d in enumerate(decoys()):
        path = os.path.join(directory, f"decoys/decoy_{i:03d}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# example configuration\n" + d + "\n")
    def git(repo, *args):
        subprocess.run(["git", "-C", repo, *args], check=True, env=GIT_ENV, stdout=subprocess.DEVNULL)
    subprocess.run(["git", "init", "-q", "-b", "main", directory], check=True, env=GIT_ENV)
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "corpus")
    # History: one more key of each family, committed then removed.
    repo = os.path.join(top, "repo")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=GIT_ENV)
    seen = set()
    history = [p for p in all_positives() if not (p[1] in seen or seen.add(p[1]))]
    for i, (rule, family, key, line) in enumerate(history):
        name = f"config/{rule}.conf"
        os.makedirs(os.path.join(repo, "config"), exist_ok=True)
        with open(os.path.join(repo, name), "w") as f:
            f.write(line + "\n")
        git(repo, "add", name)
        git(repo, "commit", "-q", "-m", f"add {i}")
        git(repo, "rm", "-q", name)
        git(repo, "commit", "-q", "-m", f"remove {i}")
        planted.append({"rule": rule, "family": family, "key": key, "path": name, "where": "history"})
    json.dump(planted, open(planted_path, "w"), indent=1)
    print(f"{len(planted)} keys planted ({len(history)} in history only), {len(decoys())} decoys", file=sys.stderr)

def swift():
    esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    print("    static let positives: [(rule: String, prefix: String, rest: String, line: String)] = [")
    for rule, family, key, line in all_positives():
        cut = min(3, len(key) // 2)
        print(f'        ("{rule}", "{esc(key[:cut])}", "{esc(key[cut:])}", "{esc(line.replace(key, "{k}"))}"),')
    print("    ]")
    print("    static let decoys: [String] = [")
    for d in decoys():
        print(f'        "{esc(d)}",')
    print("    ]")

if __name__ == "__main__":
    if sys.argv[1] == "corpus": corpus(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "swift": swift()
    else: sys.exit(__doc__)
