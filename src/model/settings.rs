//! App settings: the non-secret `NAME: value` pairs of app.yaml's `settings`, which `deploy/`
//! passes to the app as environment variables (a data source, a downstream URL...).
//!
//! One owner for what a setting may be. `levee validate` (the manifest's meaning checks), the
//! template pack's declarations (`template.yaml` `settings:`), `levee new`'s answers and the
//! sandbox's tests all ask here, so the rules cannot drift apart:
//!
//! | rule | why |
//! | --- | --- |
//! | the name is UPPER_SNAKE_CASE (`^[A-Z][A-Z0-9_]*$`), at most [`MAX_NAME`] characters | it becomes an environment variable |
//! | the name does not look like a credential: a `_`-separated word is or ends with one of [`CREDENTIAL_WORDS`] (`DB_PASSWORD`, `GITHUBTOKEN`), or two words make a known `*_KEY` compound ([`KEY_COMPOUNDS`]: `API_KEY`, `PRIVATE_KEY`); `MAX_TOKENS` and `SORT_KEY` are not | a secret goes under `secrets:`, delivered as a file, never as a value in app.yaml |
//! | the name is not one the runtime contract, the image or the platform sets ([`reserved`]) | a setting must not override `PORT`, the proxy, the interpreter's or the TLS trust's variables |
//! | the value is text, 1 to [`MAX_VALUE`] characters, one line, no control or bidi characters | it goes into a YAML file, a process environment and logs as is |
//! | a URL value names a plain host, without `user:password@` | credentials go under `secrets:`; the policy (RUN-007) checks the host against `runtime.egress` |
//!
//! At most [`MAX_SETTINGS`] settings. Whether a URL's host is one the app may reach is the
//! policy's decision (RUN-007 in `policies/runtime.rego`), not a rule here.

/// The most settings an app may have.
pub const MAX_SETTINGS: usize = 100;
/// The longest setting name.
pub const MAX_NAME: usize = 100;
/// The longest setting value, in characters (a long URL fits).
pub const MAX_VALUE: usize = 2048;

/// Words that mark a credential. A name is split at `_` into words; it looks like a credential
/// when one of its words is, or ends with, one of these (`DB_PASSWORD`, `GITHUBTOKEN`,
/// `STRIPE_APIKEY`), so `MAX_TOKENS`, `TOKENIZER` or `PASSWORDLESS_LOGIN` are not.
pub const CREDENTIAL_WORDS: &[&str] = &[
    "SECRET",
    "SECRETS",
    "TOKEN",
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
    "ACCESSKEY",
    "PRIVATEKEY",
    "SECRETKEY",
    "SIGNINGKEY",
];

/// The first word of the known `<WORD>_KEY` compounds (`API_KEY`, `PRIVATE_KEY`): `KEY` alone
/// is no credential (`SORT_KEY`, `CACHE_KEY`), these before it are (`KEYS` too).
pub const KEY_COMPOUNDS: &[&str] = &[
    "API",
    "PRIVATE",
    "ACCESS",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "SESSION",
    "AUTH",
    "HMAC",
    "LICENSE",
    "CLIENT",
];

/// A refused name or value: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub hint: String,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Who sets a reserved name, and what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// Who sets it: "levee sets it in the Deployment (the runtime contract)".
    pub owner: &'static str,
    /// What to do instead.
    pub instead: &'static str,
}

const CONTRACT: Reserved = Reserved {
    owner: "the runtime contract sets it in the Deployment (deploy/README.md)",
    instead: "levee sets it from app.yaml and the org config; pick another name for your own setting",
};
const IMAGE: Reserved = Reserved {
    owner: "the image or its interpreter reads it (the Dockerfile sets what it needs)",
    instead: "it changes how the app starts, not what it does; pick another name for your own setting",
};
const TRUST: Reserved = Reserved {
    owner: "it decides which TLS certificates the app trusts",
    instead: "the platform team sets trust in the image; pick another name for your own setting",
};
const PLATFORM: Reserved = Reserved {
    owner: "Kubernetes sets it in every container",
    instead: "pick another name for your own setting",
};
const STORE: Reserved = Reserved {
    owner: "it configures a direct Vault or AWS client, which the app does not use in the cluster (the platform's secret operator delivers secrets as files)",
    instead: "declare the secret under `secrets:` with its provider; on your computer, put these in `.env`",
};
const ISSUER: Reserved = Reserved {
    owner: "app.yaml's `sso.issuer` says where the app signs people in, and the sandbox lets it reach exactly that host",
    instead: "set `sso.issuer` in app.yaml instead",
};

/// Exact names that are not the app owner's to set.
const RESERVED_NAMES: &[(&str, Reserved)] = &[
    ("APP_ENV", CONTRACT),
    ("PORT", CONTRACT),
    ("APP_BASE_URL", CONTRACT),
    ("DATA_DIR", CONTRACT),
    ("HOST", IMAGE),
    ("PATH", IMAGE),
    ("HOME", IMAGE),
    ("HOSTNAME", IMAGE),
    ("USER", IMAGE),
    ("SHELL", IMAGE),
    ("TMPDIR", IMAGE),
    ("VIRTUAL_ENV", IMAGE),
    ("SSL_CERT_FILE", TRUST),
    ("SSL_CERT_DIR", TRUST),
    ("REQUESTS_CA_BUNDLE", TRUST),
    ("CURL_CA_BUNDLE", TRUST),
    ("OIDC_ISSUER", ISSUER),
];

/// Name prefixes that are not the app owner's to set.
const RESERVED_PREFIXES: &[(&str, Reserved)] = &[
    ("LEVEE_", CONTRACT),
    ("OTEL_", CONTRACT),
    ("NODE_", IMAGE),
    ("PYTHON", IMAGE),
    ("UV_", IMAGE),
    ("UVICORN_", IMAGE),
    ("LD_", IMAGE),
    ("KUBERNETES_", PLATFORM),
    ("VAULT_", STORE),
    ("AWS_", STORE),
];

/// Name suffixes that are not the app owner's to set (`HTTPS_PROXY`, `NO_PROXY`,
/// `NODE_USE_ENV_PROXY`...).
const RESERVED_SUFFIXES: &[(&str, Reserved)] = &[("_PROXY", CONTRACT)];

/// Is `name` one the runtime contract, the image or the platform sets? (Exact names:
/// `APP_ENV`, `PORT`, `APP_BASE_URL`, `DATA_DIR`, `HOST`, `PATH`...; prefixes `LEVEE_`, `OTEL_`,
/// `NODE_`, `PYTHON`, `UV_`, `UVICORN_`, `LD_`, `KUBERNETES_`, `VAULT_`, `AWS_`; the suffix
/// `_PROXY`.)
pub(crate) fn reserved(name: &str) -> Option<Reserved> {
    RESERVED_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| RESERVED_PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .or_else(|| RESERVED_SUFFIXES.iter().find(|(s, _)| name.ends_with(s)))
        .map(|(_, r)| *r)
}

/// What makes `name` look like a credential, if it does (`DOWNSTREAM_API_TOKEN` -> `TOKEN`,
/// `STRIPE_API_KEY` -> `API_KEY`): a `_`-separated word that is or ends with one of
/// [`CREDENTIAL_WORDS`], or two neighbouring words `<one of KEY_COMPOUNDS>_KEY(S)`.
pub(crate) fn credential_word(name: &str) -> Option<String> {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    for (i, word) in words.iter().enumerate() {
        if let Some(w) = CREDENTIAL_WORDS.iter().find(|w| word.ends_with(*w)) {
            return Some((*w).to_string());
        }
        if let Some(next) = words.get(i + 1)
            && matches!(*next, "KEY" | "KEYS")
            && KEY_COMPOUNDS.contains(word)
        {
            return Some(format!("{word}_{next}"));
        }
    }
    None
}

/// The schema's pattern of a credential-looking setting name: the same rule as
/// [`credential_word`] (words are split at `_`; names hold only `A-Z0-9_`).
pub(crate) fn credential_pattern() -> String {
    format!(
        "(^|_)[A-Z0-9]*({})(_|$)|(^|_)({})_+KEYS?(_|$)",
        CREDENTIAL_WORDS.join("|"),
        KEY_COMPOUNDS.join("|")
    )
}

/// The JSON Schema of a setting name (`propertyNames` of `settings`): the same rules as
/// [`name_problem`], so an editor flags a credential or reserved name as levee does.
pub(crate) fn name_schema() -> serde_json::Value {
    let words = credential_pattern();
    // Reserved names as an `enum` and one pattern per prefix and suffix, not one alternation:
    // a literal `^(a|b)$` or `^prefix` is checked without a regex, and compiling the single
    // pattern was two fifths of the schema's regex compile time in `levee new` (160 of 430 us).
    let exact: Vec<&str> = RESERVED_NAMES.iter().map(|(n, _)| *n).collect();
    let mut reserved = vec![serde_json::json!({"enum": exact})];
    reserved.extend(
        RESERVED_PREFIXES
            .iter()
            .map(|(p, _)| serde_json::json!({"pattern": format!("^{p}")})),
    );
    reserved.extend(
        RESERVED_SUFFIXES
            .iter()
            .map(|(s, _)| serde_json::json!({"pattern": format!("{s}$")})),
    );
    serde_json::json!({
        "pattern": "^[A-Z][A-Z0-9_]*$",
        "maxLength": MAX_NAME,
        "allOf": [
            {"not": {"pattern": words}, "description": "a credential belongs under `secrets`"},
            {"not": {"anyOf": reserved}, "description": "set by the runtime contract, the image or the platform"}
        ]
    })
}

/// The JSON Schema of a setting value: text, one line, no control or invisible characters
/// (the URL rules are meaning checks).
pub(crate) fn value_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_VALUE,
        "pattern": "\\S",
        "not": {"pattern": "[\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uFEFF]"}
    })
}

/// `name` as UPPER_SNAKE_CASE, for hints (`downstream-url` -> `DOWNSTREAM_URL`).
pub(crate) fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    let out = out.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    let out: String = out.chars().take(MAX_NAME).collect();
    if out.is_empty() {
        "MY_SETTING".into()
    } else {
        out
    }
}

/// Is `name` UPPER_SNAKE_CASE: a capital letter, then capitals, digits and underscores?
pub(crate) fn is_upper_snake(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// Why `name` cannot be a setting, if it cannot.
pub fn name_problem(name: &str) -> Option<Problem> {
    let shown = one_line(name);
    if !is_upper_snake(name) {
        return Some(problem(
            format!(
                "`{shown}` is not a setting name: settings are environment variables, named in UPPER_SNAKE_CASE"
            ),
            format!("did you mean `{}`?", suggest_name(name)),
        ));
    }
    if name.len() > MAX_NAME {
        return Some(problem(
            format!(
                "the setting name `{shown}` is {} characters long; the most is {MAX_NAME}",
                name.len()
            ),
            "use a shorter name",
        ));
    }
    if let Some(r) = reserved(name) {
        return Some(problem(
            format!("`{name}` cannot be a setting: {}", r.owner),
            r.instead,
        ));
    }
    if let Some(word) = credential_word(name) {
        return Some(problem(
            format!("`{name}` looks like a credential ({word}): a secret is never a setting"),
            format!(
                "declare it under `secrets:` instead (`- name: {name}` with `provider: vault` or `aws-secrets-manager`): the app reads it from a file the platform delivers, and its value never appears in app.yaml"
            ),
        ));
    }
    None
}

/// Why `value` cannot be a setting's value, if it cannot.
pub fn value_problem(value: &str) -> Option<Problem> {
    let n = value.chars().count();
    if value.trim().is_empty() {
        return Some(problem(
            "the setting has no value",
            "give it a value, or remove the setting",
        ));
    }
    if n > MAX_VALUE {
        return Some(problem(
            format!("the value is {n} characters long; the most is {MAX_VALUE}"),
            "a setting is a short value like a URL or a name; put large data in a file or dataset the app reads",
        ));
    }
    if let Some(c) = value.chars().find(|c| is_forbidden_char(*c)) {
        return Some(problem(
            format!(
                "the value contains U+{:04X}, a control or invisible character",
                u32::from(c)
            ),
            "write the value on one line, without tabs, line breaks or invisible characters",
        ));
    }
    if value.contains("-----BEGIN") {
        return Some(problem(
            "the value looks like a key or certificate (`-----BEGIN`)",
            "declare a key under `secrets:` instead; its value never goes in app.yaml",
        ));
    }
    if let Some(scheme) = url_scheme(value) {
        let authority = authority(&value[scheme.len()..]);
        if authority.contains('@') {
            return Some(problem(
                "the URL carries credentials (`user:password@`)",
                "write the URL without them, and declare the credential under `secrets:`",
            ));
        }
        if url_host(value).is_none() {
            return Some(problem(
                format!(
                    "`{}` is not a URL with a host name",
                    one_line(&value.chars().take(60).collect::<String>())
                ),
                "write it as `https://host.example.com/path`",
            ));
        }
    }
    None
}

/// Characters a value may not hold: control characters, line and paragraph separators, and the
/// bidirectional overrides that make text read differently from what it is.
fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `http://` or `https://` (any case) when `value` starts with it.
fn url_scheme(value: &str) -> Option<&'static str> {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    if lower.starts_with("https://") {
        Some("https://")
    } else if lower.starts_with("http://") {
        Some("http://")
    } else {
        None
    }
}

/// The authority part after the scheme: up to the first `/`, `\`, `?` or `#` (URL parsers treat
/// `\` as `/` in http(s) URLs).
fn authority(rest: &str) -> &str {
    rest.split(['/', '\\', '?', '#']).next().unwrap_or_default()
}

/// The lowercased host of an `http(s)://` value; `None` when `value` is not such a URL or names
/// no DNS host name (an IP literal, userinfo, an empty host). The policy's RUN-007 reads the host
/// the same way: scheme, then up to the first `/`, `\`, `?` or `#`, then up to a `:` port.
pub fn url_host(value: &str) -> Option<String> {
    let scheme = url_scheme(value)?;
    let authority = authority(&value[scheme.len()..]);
    if authority.contains('@') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => authority,
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    (crate::model::manifest::is_hostname(&host) && host.contains(|c: char| c.is_ascii_alphabetic()))
        .then_some(host)
}

fn one_line(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(60)
        .collect();
    if s.chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}

/// `--setting NAME=VALUE`.
pub(crate) fn parse_flag(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| {
        format!(
            "`{}` needs a value: NAME=VALUE, like `DOWNSTREAM_URL=https://api.example.com/events`",
            one_line(s)
        )
    })?;
    Ok((name.trim().to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name_problem("DOWNSTREAM_URL").is_none());
        assert!(name_problem("DASHBOARD_DATA_SOURCE").is_none());
        assert!(name_problem("OIDC_CLIENT_ID").is_none());
        assert!(name_problem("TZ").is_none());
        let p = name_problem("downstream-url").expect("lowercase");
        assert!(p.hint.contains("`DOWNSTREAM_URL`"), "{p:?}");
        assert!(name_problem("_X").is_some());
        assert!(name_problem("1X").is_some());
        assert!(name_problem("").is_some());
        assert!(name_problem(&"A".repeat(MAX_NAME + 1)).is_some());
        assert!(name_problem(&"A".repeat(MAX_NAME)).is_none());
    }

    #[test]
    fn credentials_are_secrets() {
        for (n, why) in [
            ("DOWNSTREAM_API_TOKEN", "TOKEN"),
            ("CLIENT_SECRET", "SECRET"),
            ("DB_PASSWORD", "PASSWORD"),
            ("SMTP_PASSWD", "PASSWD"),
            ("STRIPE_API_KEY", "API_KEY"),
            ("STRIPE_APIKEY", "APIKEY"),
            ("GITHUBTOKEN", "TOKEN"),
            ("SIGNING_KEY", "SIGNING_KEY"),
            ("JWT_SIGNING_KEYS", "SIGNING_KEYS"),
            ("GCP_CREDENTIALS", "CREDENTIALS"),
            ("DB_PWD", "PWD"),
            ("AWS4_PRIVATE_KEY", "PRIVATE_KEY"),
            ("S3_ACCESS_KEY_ID", "ACCESS_KEY"),
            ("TOKEN", "TOKEN"),
            ("SECRETS_FILE", "SECRETS"),
            ("API__KEY", "API_KEY"),
            ("CLIENTSECRET", "SECRET"),
        ] {
            assert_eq!(credential_word(n).as_deref(), Some(why), "{n}");
            let p = name_problem(n).unwrap_or_else(|| panic!("{n} passed"));
            assert!(p.hint.contains("secrets:"), "{n}: {p:?}");
            assert!(p.message.contains(&format!("({why})")), "{n}: {p:?}");
        }
    }

    /// Words, not substrings: a word that only contains a credential word is not one.
    #[test]
    fn words_that_merely_contain_a_credential_word_pass() {
        for n in [
            "MAX_TOKENS",
            "TOKENIZER_MODEL",
            "PASSWORDLESS_LOGIN",
            "SECRETARY_EMAIL",
            "SORT_KEY",
            "CACHE_KEY",
            "KEYCLOAK_REALM",
            "APIARY_URL",
            "API_KEYRING_PATH",
            "PWDX",
            "MONKEY_COUNT",
        ] {
            assert_eq!(credential_word(n), None, "{n}");
            assert_eq!(name_problem(n), None, "{n}");
        }
    }

    /// The README states the rule with every word and compound the code knows.
    #[test]
    fn the_readme_lists_every_credential_word() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("A name looks like a credential by its words")
            .expect("the README states the rule");
        let rule = &readme[start..start + 1200];
        for w in CREDENTIAL_WORDS {
            let singular = w.strip_suffix('S').unwrap_or(w);
            assert!(
                rule.contains(&format!("`{w}`")) || rule.contains(&format!("`{singular}(S)`")),
                "{w}"
            );
        }
        for w in KEY_COMPOUNDS {
            assert!(rule.contains(&format!("`{w}_KEY`")), "{w}_KEY");
        }
    }

    #[test]
    fn the_contract_and_the_image_keep_their_names() {
        for n in [
            "APP_ENV",
            "PORT",
            "APP_BASE_URL",
            "DATA_DIR",
            "LEVEE_SECRETS_DIR",
            "LEVEE_ANYTHING",
            "OTEL_SERVICE_NAME",
            "HTTPS_PROXY",
            "HTTP_PROXY",
            "NO_PROXY",
            "ALL_PROXY",
            "NODE_USE_ENV_PROXY",
            "NODE_OPTIONS",
            "NODE_TLS_REJECT_UNAUTHORIZED",
            "NODE_EXTRA_CA_CERTS",
            "PYTHONPATH",
            "LD_PRELOAD",
            "PATH",
            "HOST",
            "SSL_CERT_FILE",
            "KUBERNETES_SERVICE_HOST",
            "VAULT_ADDR",
            "AWS_REGION",
            "OIDC_ISSUER",
        ] {
            assert!(name_problem(n).is_some(), "{n} passed");
            assert!(reserved(n).is_some() || credential_word(n).is_some(), "{n}");
        }
    }

    /// The published schema and the meaning checks agree on names and values.
    #[test]
    fn the_schema_says_what_the_checks_say() {
        let names = jsonschema::validator_for(&name_schema()).expect("compiles");
        for n in [
            "DOWNSTREAM_URL",
            "TZ",
            "OIDC_CLIENT_ID",
            "downstream_url",
            "_X",
            "DOWNSTREAM_API_TOKEN",
            "DB_PWD",
            "PORT",
            "PORTAL_URL",
            "HTTPS_PROXY",
            "NODE_OPTIONS",
            "LEVEE_SECRETS_DIR",
            "AWS_REGION",
            "OIDC_ISSUER",
            "OIDC_ISSUER_HINT",
            "MAX_TOKENS",
            "GITHUBTOKEN",
            "API__KEY",
            &"A".repeat(MAX_NAME + 1),
        ] {
            assert_eq!(
                names.is_valid(&serde_json::json!(n)),
                name_problem(n).is_none(),
                "{n}"
            );
        }
        // Every name of up to three words from a vocabulary of credential words, their parts,
        // their look-alikes and plain words, joined by `_` or `__`: schema and checks agree.
        let vocabulary: Vec<String> = CREDENTIAL_WORDS
            .iter()
            .chain(KEY_COMPOUNDS)
            .map(|w| w.to_string())
            .chain(
                [
                    "KEY",
                    "KEYS",
                    "TOKENS",
                    "MAX",
                    "GITHUBTOKEN",
                    "XTOKEN",
                    "TOKENX",
                    "KEYX",
                    "SORT",
                    "DB",
                    "URL",
                    "A1",
                ]
                .map(String::from),
            )
            .collect();
        let mut checked = 0;
        for a in &vocabulary {
            for b in std::iter::once("").chain(vocabulary.iter().map(String::as_str)) {
                for c in ["", "KEY", "URL", "TOKEN", "ID"] {
                    for sep in ["_", "__"] {
                        let mut n = a.clone();
                        for w in [b, c] {
                            if !w.is_empty() {
                                n.push_str(sep);
                                n.push_str(w);
                            }
                        }
                        assert_eq!(
                            names.is_valid(&serde_json::json!(n)),
                            name_problem(&n).is_none(),
                            "{n}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 5000, "{checked}");
        let values = jsonschema::validator_for(&value_schema()).expect("compiles");
        for v in [
            "https://api.example.com/events",
            "a $(PORT) b",
            "Grüß Gott",
            "",
            "   ",
            "a\tb",
            "a\nb",
            "a\u{85}b",
            "a\u{202E}b",
            "a\u{2028}b",
            "\u{FEFF}x",
        ] {
            assert_eq!(
                values.is_valid(&serde_json::json!(v)),
                value_problem(v).is_none(),
                "{v:?}"
            );
        }
        assert!(!values.is_valid(&serde_json::json!("x".repeat(MAX_VALUE + 1))));
    }

    #[test]
    fn values() {
        assert!(value_problem("https://api.payments.example.com/events").is_none());
        assert!(value_problem("/data/sales.csv").is_none());
        assert!(value_problem("a $(PORT) b").is_none());
        assert!(value_problem("").is_some());
        assert!(value_problem("  ").is_some());
        assert!(value_problem("a\nb").is_some());
        assert!(value_problem("a\tb").is_some());
        assert!(value_problem("a\u{202E}b").is_some());
        assert!(value_problem("a\u{2028}b").is_some());
        assert!(value_problem(&"x".repeat(MAX_VALUE + 1)).is_some());
        assert!(value_problem(&"x".repeat(MAX_VALUE)).is_none());
        assert!(value_problem("https://user:pw@api.example.com/").is_some());
        assert!(value_problem("https://api.example.com\\@evil.example.com/").is_none());
        assert!(value_problem("https:///path").is_some());
        assert!(value_problem("https://10.0.0.1/x").is_some());
        assert!(value_problem("-----BEGIN PRIVATE KEY-----").is_some());
    }

    #[test]
    fn url_hosts() {
        let h = |s: &str| url_host(s);
        assert_eq!(
            h("https://API.Example.com:8443/x?y#z").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(h("http://a.example.com").as_deref(), Some("a.example.com"));
        assert_eq!(
            h("HTTPS://a.example.com./").as_deref(),
            Some("a.example.com")
        );
        // `\` ends the authority, as WHATWG URL parsers read http(s) URLs.
        assert_eq!(
            h("https://evil.example.com\\@api.example.com/").as_deref(),
            Some("evil.example.com")
        );
        assert_eq!(h("https://user@a.example.com"), None);
        assert_eq!(h("https://a.example.com:x/"), None);
        assert_eq!(h("https://[::1]/"), None);
        assert_eq!(h("ftp://a.example.com"), None);
        assert_eq!(h("/data/x.csv"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(
            parse_flag("DOWNSTREAM_URL=https://x.example.com/a=b"),
            Ok(("DOWNSTREAM_URL".into(), "https://x.example.com/a=b".into()))
        );
        assert!(parse_flag("DOWNSTREAM_URL").is_err());
    }
}
