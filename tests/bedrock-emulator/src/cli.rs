//! The command line of the `bedrock-emulator` binary.

use std::net::SocketAddr;

use crate::{EmulatorError, Options, parse_pace};

pub const USAGE: &str =
    "usage: bedrock-emulator [--listen 127.0.0.1:PORT] [--account-id 123456789012] \
[--logs-endpoint URL] [--seed FILE] [--pace-ms N]

  --listen HOST:PORT   address to bind (default 127.0.0.1:4000; port 0 picks a free port)
  --account-id ID      the 12-digit account in every ARN (default 123456789012)
  --logs-endpoint URL  CloudWatch Logs endpoint that receives invocation logs
  --seed FILE          seed file, JSON (.json) or YAML, applied at start and on every reset
  --pace-ms N          pause between stream events, 0-60000 ms (default: the seed file's
                       runtime.paceMs, else BEDROCK_EMULATOR_PACE_MS, else 0)";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, EmulatorError> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
        ..Options::default()
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        let value = args
            .next()
            .ok_or_else(|| EmulatorError::Usage(format!("{flag} needs a value\n{USAGE}")))?;
        match flag.as_str() {
            "--listen" => {
                options.listen = value.parse().map_err(|_| {
                    EmulatorError::Usage(format!(
                        "--listen wants HOST:PORT with an IP address, got {value:?}"
                    ))
                })?;
            }
            "--account-id" => options.account_id = value,
            "--logs-endpoint" => options.logs_endpoint = Some(value),
            "--seed" => options.seed = Some(value.into()),
            "--pace-ms" => options.pace_ms = Some(parse_pace("--pace-ms", &value)?),
            _ => {
                return Err(EmulatorError::Usage(format!(
                    "unknown option {flag}\n{USAGE}"
                )));
            }
        }
    }
    Ok(Command::Run(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, EmulatorError> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    fn options(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Command::Run(options)) => options,
            other => panic!("expected options, got {other:?}"),
        }
    }

    #[test]
    fn pace_ms_sets_the_pause_between_stream_events() {
        assert_eq!(options(&["--pace-ms", "250"]).pace_ms, Some(250));
        assert_eq!(options(&[]).pace_ms, None);
    }

    #[test]
    fn a_pace_that_is_not_a_small_whole_number_is_refused_with_the_value() {
        for bad in ["-1", "fast", "60001", "1.5"] {
            let err = parse(&["--pace-ms", bad]).unwrap_err().to_string();
            assert!(err.contains("--pace-ms") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn every_option_is_read_and_the_default_port_is_4000() {
        let o = options(&[
            "--listen",
            "127.0.0.1:0",
            "--account-id",
            "210987654321",
            "--logs-endpoint",
            "http://127.0.0.1:5000",
            "--seed",
            "seed.yaml",
        ]);
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.account_id, "210987654321");
        assert_eq!(o.logs_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(o.seed.as_deref(), Some(std::path::Path::new("seed.yaml")));
        assert_eq!(options(&[]).listen.port(), 4000);
    }

    #[test]
    fn help_is_not_an_error_and_unknown_or_valueless_flags_are() {
        assert!(matches!(parse(&["--help"]), Ok(Command::Help)));
        assert!(
            parse(&["--verbose", "1"])
                .unwrap_err()
                .to_string()
                .contains("unknown option --verbose")
        );
        assert!(
            parse(&["--seed"])
                .unwrap_err()
                .to_string()
                .contains("--seed needs a value")
        );
        assert!(parse(&["--listen", "localhost:4000"]).is_err());
    }
}
