//! Configuration: defaults, then a TOML file, then `TRELLIS_*` environment
//! variables, then command-line flags (each layer overrides the one before).

use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    fn parse(key: &str, s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(ConfigError::Invalid {
                key: key.to_string(),
                message: format!("'{s}' is not a log format: use text or json"),
            }),
        }
    }
}

/// The effective configuration of one Trellis process.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// `sqlite://PATH` (default `sqlite://trellis.db`) or `postgres://…`.
    pub database_url: String,
    /// Address to listen on (default `127.0.0.1:8080`).
    pub bind: String,
    /// The URL people open; decides `Secure` cookies (https) and invitation links.
    /// Defaults to `http://` + bind.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `trellis_server=debug,info`.
    pub log: String,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    /// Where e-mail goes: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// or `smtps://user:pass@host:465`. Unset: e-mail stays in the outbox.
    pub smtp_url: Option<String>,
    /// The sender of Trellis's e-mail (default `Trellis <trellis@localhost>`).
    pub mail_from: String,
    /// API requests a token may make per minute on one instance, in bursts
    /// of up to ten seconds' worth (default 600; 0: no limit).
    pub api_requests_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://trellis.db".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            log_format: LogFormat::Text,
            log: "info".into(),
            trust_proxy_headers: false,
            smtp_url: None,
            mail_from: "Trellis <trellis@localhost>".into(),
            api_requests_per_minute: 600,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("api_requests_per_minute", &self.api_requests_per_minute)
            .finish()
    }
}

/// Replaces the password of a URL (`postgres://u:secret@h/db`) with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((userinfo, host)) = rest.split_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_string()
}

/// Settings given on the command line; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub log_format: Option<String>,
    pub log: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// The file layer: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    bind: Option<String>,
    public_url: Option<String>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    trust_proxy_headers: Option<bool>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    api_requests_per_minute: Option<u32>,
}

impl Config {
    /// Builds the configuration from its layers. `file` is read if given;
    /// `env` is the process environment (passed in so tests need not mutate it).
    pub fn load(
        file: Option<&Path>,
        env: &HashMap<String, String>,
        flags: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            set(&mut c.database_url, f.database_url);
            set(&mut c.bind, f.bind);
            c.public_url = f.public_url.or(c.public_url);
            set(&mut c.log_format, f.log_format);
            set(&mut c.log, f.log);
            set(&mut c.trust_proxy_headers, f.trust_proxy_headers);
            c.smtp_url = f.smtp_url.or(c.smtp_url);
            set(&mut c.mail_from, f.mail_from);
            set(&mut c.api_requests_per_minute, f.api_requests_per_minute);
        }
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        set(&mut c.database_url, var("TRELLIS_DATABASE_URL"));
        set(&mut c.bind, var("TRELLIS_BIND"));
        c.public_url = var("TRELLIS_PUBLIC_URL").or(c.public_url);
        if let Some(v) = var("TRELLIS_LOG_FORMAT") {
            c.log_format = LogFormat::parse("TRELLIS_LOG_FORMAT", &v)?;
        }
        set(&mut c.log, var("TRELLIS_LOG"));
        c.smtp_url = var("TRELLIS_SMTP_URL").or(c.smtp_url);
        set(&mut c.mail_from, var("TRELLIS_MAIL_FROM"));
        if let Some(v) = var("TRELLIS_API_REQUESTS_PER_MINUTE") {
            c.api_requests_per_minute = v.trim().parse().map_err(|_| ConfigError::Invalid {
                key: "TRELLIS_API_REQUESTS_PER_MINUTE".into(),
                message: format!("'{v}' is not a whole number of requests (0 for no limit)"),
            })?;
        }
        if let Some(v) = var("TRELLIS_TRUST_PROXY_HEADERS") {
            c.trust_proxy_headers = match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "TRELLIS_TRUST_PROXY_HEADERS".into(),
                        message: format!("'{v}' is not a boolean: use true or false"),
                    })
                }
            };
        }
        set(&mut c.database_url, flags.database_url.clone());
        set(&mut c.bind, flags.bind.clone());
        c.public_url = flags.public_url.clone().or(c.public_url);
        if let Some(v) = &flags.log_format {
            c.log_format = LogFormat::parse("--log-format", v)?;
        }
        set(&mut c.log, flags.log.clone());
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        crate::db::Backend::from_url(&self.database_url).map_err(|e| ConfigError::Invalid {
            key: "database_url".into(),
            message: e.to_string(),
        })?;
        self.bind
            .parse::<std::net::SocketAddr>()
            .map_err(|_| ConfigError::Invalid {
                key: "bind".into(),
                message: format!("'{}' is not an address like 127.0.0.1:8080", self.bind),
            })?;
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "public_url".into(),
                    message: format!("'{u}' must start with http:// or https://"),
                });
            }
        }
        self.mailer()?;
        Ok(())
    }

    /// The SMTP sender, if `smtp_url` is set.
    pub fn mailer(&self) -> Result<Option<crate::jobs::mail::Mailer>, ConfigError> {
        let invalid = |e: crate::jobs::mail::MailConfigError| ConfigError::Invalid {
            key: e.key.into(),
            message: e.message,
        };
        match &self.smtp_url {
            Some(url) => crate::jobs::mail::Mailer::new(url, &self.mail_from)
                .map(Some)
                .map_err(invalid),
            // Checks the sender all the same.
            None => crate::jobs::mail::Mailer::new("smtp://localhost", &self.mail_from)
                .map(|_| None)
                .map_err(invalid),
        }
    }

    /// The URL people use to reach this server, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::load(None, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.database_url, "sqlite://trellis.db");
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:7000\"\nlog = \"debug\"\nlog_format = \"json\"\npublic_url = \"https://prm.example.com/\"\n",
        )
        .unwrap();
        let e = env(&[("TRELLIS_BIND", "127.0.0.1:7001"), ("TRELLIS_LOG", "warn")]);
        let flags = Overrides {
            bind: Some("127.0.0.1:7002".into()),
            ..Overrides::default()
        };
        let c = Config::load(Some(&path), &e, &flags).unwrap();
        assert_eq!(c.bind, "127.0.0.1:7002", "flag wins");
        assert_eq!(c.log, "warn", "env beats file");
        assert_eq!(c.log_format, LogFormat::Json, "file beats default");
        assert_eq!(c.database_url, "sqlite://trellis.db", "default stays");
        assert_eq!(c.public_url(), "https://prm.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::load(
            None,
            &env(&[("TRELLIS_BIND", "nowhere")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("bind:"), "{err}");
        let err = Config::load(
            None,
            &env(&[("TRELLIS_DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("database_url:"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "bnd = \"x\"\n").unwrap();
        let err = Config::load(Some(&path), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn debug_redacts_database_password() {
        let c = Config {
            database_url: "postgres://trellis:s3cret@db/trellis".into(),
            ..Config::default()
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("s3cret") && dbg.contains("trellis:***@db"),
            "{dbg}"
        );
        let c = Config {
            smtp_url: Some("smtps://prm:m41lpass@mail.example.com:465".into()),
            ..Config::default()
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("m41lpass") && dbg.contains("prm:***@mail"),
            "{dbg}"
        );
    }

    #[test]
    fn smtp_settings_are_checked() {
        let c = Config::load(
            None,
            &env(&[
                ("TRELLIS_SMTP_URL", "smtp://127.0.0.1:2525"),
                ("TRELLIS_MAIL_FROM", "Acme PRM <prm@acme.example>"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(c.mailer().unwrap().is_some());
        let err = Config::load(
            None,
            &env(&[("TRELLIS_SMTP_URL", "http://mail")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("smtp_url:"), "{err}");
        let err = Config::load(
            None,
            &env(&[("TRELLIS_MAIL_FROM", "nobody")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("mail_from:"), "{err}");
    }
}
