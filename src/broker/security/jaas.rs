//! Kafka's inline JAAS configuration (`sasl.jaas.config`): `LoginModuleClass flag key="value"
//! ...;`, as `org.apache.kafka.common.security.JaasConfig` reads it. The broker needs it for
//! PLAIN's users: `user_<name>="<password>"` options of `PlainLoginModule`.

use std::collections::BTreeMap;

/// The PLAIN login module's class.
pub const PLAIN_LOGIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
/// The SCRAM login module's class.
pub const SCRAM_LOGIN_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";

/// One login module entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    /// Its class name.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// `key=value` options, in order of appearance (a repeated key keeps the last).
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err("a quoted value ends with \\".into()),
                        },
                        Some(ch) => s.push(ch),
                        None => return Err("a quoted value is not closed".into()),
                    }
                }
                out.push(Token::Quoted(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || ch == '=' || ch == ';' || ch == '"' {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    Ok(out)
}

/// Parses a `sasl.jaas.config` value into its login modules.
///
/// # Errors
/// A malformed value: what is wrong, without echoing the value (it holds passwords).
pub fn parse(text: &str) -> Result<Vec<LoginModule>, String> {
    let toks = tokens(text)?;
    let mut modules = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Token::Word(class) = &toks[i] else {
            return Err("expected a login module class name".into());
        };
        let Some(Token::Word(flag)) = toks.get(i + 1) else {
            return Err(format!("login module {class} has no control flag"));
        };
        let flag = flag.to_ascii_lowercase();
        if !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str()) {
            return Err(format!(
                "login module {class}: '{flag}' is not a control flag (required, requisite, sufficient, optional)"
            ));
        }
        i += 2;
        let mut options = BTreeMap::new();
        loop {
            match toks.get(i) {
                Some(Token::Semicolon) => {
                    i += 1;
                    break;
                }
                Some(Token::Word(key)) => {
                    let value = match (toks.get(i + 1), toks.get(i + 2)) {
                        (Some(Token::Equals), Some(Token::Quoted(v) | Token::Word(v))) => v,
                        _ => {
                            return Err(format!("login module {class}: option {key} has no value"));
                        }
                    };
                    options.insert(key.clone(), value.clone());
                    i += 3;
                }
                Some(_) => return Err(format!("login module {class}: unexpected token")),
                None => return Err(format!("login module {class} does not end with ';'")),
            }
        }
        modules.push(LoginModule {
            class: class.clone(),
            flag,
            options,
        });
    }
    if modules.is_empty() {
        return Err("no login module".into());
    }
    Ok(modules)
}

/// PLAIN's users from a `PlainLoginModule` entry: `user_<name>="<password>"`.
///
/// # Errors
/// Not a PLAIN login module, or a malformed value.
pub fn plain_users(text: &str) -> Result<BTreeMap<String, String>, String> {
    let modules = parse(text)?;
    let module = modules
        .iter()
        .find(|m| m.class == PLAIN_LOGIN_MODULE)
        .ok_or_else(|| format!("no {PLAIN_LOGIN_MODULE} entry"))?;
    Ok(module
        .options
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("user_").map(|u| (u.to_string(), v.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_plain_example_yields_its_users() {
        let users = plain_users(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users["admin"], "admin-secret");
        assert_eq!(users["alice"], "alice-secret");
    }

    #[test]
    fn quoted_values_keep_spaces_semicolons_and_escaped_quotes() {
        let m = parse("x.Y optional a=\"p; q \\\" r\" b=plain;\n z.W required;").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].flag, "optional");
        assert_eq!(m[0].options["a"], "p; q \" r");
        assert_eq!(m[0].options["b"], "plain");
        assert_eq!(m[1].class, "z.W");
        assert!(m[1].options.is_empty());
    }

    #[test]
    fn malformed_configs_are_refused_without_echoing_secrets() {
        for (text, want) in [
            ("", "no login module"),
            ("a.B required user_x=\"secret\"", "does not end with ';'"),
            ("a.B mandatory;", "not a control flag"),
            ("a.B required user_x=;", "has no value"),
            ("a.B required user_x=\"secret;", "not closed"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        assert!(
            plain_users(&format!("{SCRAM_LOGIN_MODULE} required;"))
                .unwrap_err()
                .contains("PlainLoginModule")
        );
    }
}
