//! Start-up configuration, read from the environment once per cold start. A problem here does not
//! stop the function: it becomes the Reason of every event's FAILED answer.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The function's own region (Lambda sets `AWS_REGION`).
    pub region: String,
}

impl Config {
    pub fn from_env() -> Result<Config, Error> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let region = lookup("AWS_REGION")
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| Error::Init("AWS_REGION is not set".into()))?;
        if !shared::arn::is_region_name(&region) {
            return Err(Error::Init(format!(
                "AWS_REGION {region:?} is not a region name such as us-east-1"
            )));
        }
        for key in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK"] {
            if let Some(url) = lookup(key).filter(|u| !u.is_empty())
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(Error::Init(format!(
                    "{key} {url:?} is not an http:// or https:// URL"
                )));
            }
        }
        Ok(Config { region })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn unset_region_is_a_startup_error() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err().to_string();
        assert!(err.contains("AWS_REGION is not set"), "{err}");
    }

    #[test]
    fn malformed_endpoint_is_a_startup_error() {
        let err = Config::from_lookup(lookup(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_BEDROCK", "127.0.0.1:9"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("AWS_ENDPOINT_URL_BEDROCK"), "{err}");
    }

    #[test]
    fn a_region_is_enough() {
        let c = Config::from_lookup(lookup(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(c.region, "eu-west-1");
    }
}
