//! Guardrails the local Bedrock applies, by a deterministic rule: a guardrail is a list of
//! blocked words (set through `PUT /_emulator/runtime/guardrails/{id}`), matched
//! case-insensitively as substrings of the input texts and of the answer.
//!
//! As Bedrock does: a call names the guardrail in Converse's `guardrailConfig` or InvokeModel's
//! `X-Amzn-Bedrock-GuardrailIdentifier` / `-GuardrailVersion` headers (ID or guardrail ARN, a
//! version number or `DRAFT`); an unknown one is a ValidationException. A blocked input is never
//! sent to the model: the answer is the guardrail's `blockedInputMessaging`, stop reason
//! `guardrail_intervened`, no tokens. A blocked answer is replaced by `blockedOutputsMessaging`.
//! With trace on, the answer carries `trace.guardrail` with the matched words.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fail::Fail;
use super::responder::{Prompt, Reply, StopReason};

/// One guardrail's rule, as set through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailRule {
    /// Words (or phrases) that block an input or an answer containing them.
    pub blocked_words: Vec<String>,
    #[serde(default = "default_input_message")]
    pub blocked_input_messaging: String,
    #[serde(default = "default_output_message")]
    pub blocked_outputs_messaging: String,
}

fn default_input_message() -> String {
    "Sorry, the model cannot answer this question.".into()
}

fn default_output_message() -> String {
    "Sorry, the model cannot answer this question.".into()
}

/// A call's guardrail, as the request names it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailCall {
    pub identifier: String,
    pub version: String,
    pub trace: bool,
}

/// The guardrails defined in this emulator, by ID.
#[derive(Debug, Default)]
pub struct Guardrails {
    rules: Mutex<BTreeMap<String, GuardrailRule>>,
}

/// What applying a guardrail did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub intervened: bool,
    /// `trace.guardrail`, when the call asked for the trace.
    pub trace: Option<Value>,
}

impl Guardrails {
    /// Defines (or replaces) guardrail `id`; every version of it applies the same rule.
    pub fn put(&self, id: &str, rule: GuardrailRule) -> Result<(), String> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(format!(
                "guardrail id `{id}` must be lowercase letters and digits"
            ));
        }
        if rule.blocked_words.iter().any(|w| w.trim().is_empty()) {
            return Err("blockedWords must not hold an empty word".into());
        }
        self.lock().insert(id.to_owned(), rule);
        Ok(())
    }

    pub fn list(&self) -> BTreeMap<String, GuardrailRule> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, GuardrailRule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Screens the prompt, then the answer, under `call`'s guardrail; rewrites `reply` when
    /// the guardrail intervenes.
    pub fn apply(
        &self,
        call: &GuardrailCall,
        prompt: &Prompt,
        reply: &mut Reply,
    ) -> Result<Applied, Fail> {
        let id = call
            .identifier
            .rsplit_once(":guardrail/")
            .map_or(call.identifier.as_str(), |(_, id)| id);
        let Some(rule) = self.lock().get(id).cloned() else {
            return Err(Fail::validation(
                "The guardrail identifier or version provided in the request does not exist.",
            ));
        };
        let input_hits = matches(&rule.blocked_words, prompt.texts.iter().map(String::as_str));
        let mut output_hits = Vec::new();
        if !input_hits.is_empty() {
            *reply = Reply {
                reasoning: None,
                text: Some(rule.blocked_input_messaging.clone()),
                tool_call: None,
                stop_reason: StopReason::GuardrailIntervened,
                stop_sequence: None,
                input_tokens: 0,
                output_tokens: 0,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
            };
        } else {
            output_hits = matches(&rule.blocked_words, reply.text.iter().map(String::as_str));
            if !output_hits.is_empty() {
                reply.text = Some(rule.blocked_outputs_messaging.clone());
                reply.reasoning = None;
                reply.tool_call = None;
                reply.stop_reason = StopReason::GuardrailIntervened;
            }
        }
        let intervened = !(input_hits.is_empty() && output_hits.is_empty());
        let assessment = |hits: &[String]| {
            json!({ id: {"wordPolicy": {"customWords": hits.iter()
                .map(|w| json!({"match": w, "action": "BLOCKED", "detected": true}))
                .collect::<Vec<_>>()}}})
        };
        let trace = call.trace.then(|| {
            let mut guardrail = json!({"inputAssessment": assessment(&input_hits)});
            if !output_hits.is_empty() {
                guardrail["outputAssessments"] =
                    json!({ id: [assessment(&output_hits)[id].clone()] });
            }
            if intervened {
                guardrail["actionReason"] = json!("Guardrail blocked.");
            }
            guardrail
        });
        Ok(Applied { intervened, trace })
    }
}

/// The blocked words found in `texts`, in the rule's order.
fn matches<'a>(words: &[String], texts: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    words
        .iter()
        .filter(|w| {
            let w = w.to_lowercase();
            texts.clone().any(|t| t.to_lowercase().contains(&w))
        })
        .cloned()
        .collect()
}

/// The guardrail an InvokeModel call names in its headers (`None` without the identifier).
pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<GuardrailCall>, Fail> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(identifier) = get("x-amzn-bedrock-guardrailidentifier") else {
        if get("x-amzn-bedrock-guardrailversion").is_some() {
            return Err(Fail::validation(
                "Guardrail identifier is required when a guardrail version is provided.",
            ));
        }
        return Ok(None);
    };
    let Some(version) = get("x-amzn-bedrock-guardrailversion") else {
        return Err(Fail::validation(
            "Guardrail version is required when a guardrail identifier is provided.",
        ));
    };
    let trace = get("x-amzn-bedrock-trace").is_some_and(|t| t != "DISABLED");
    Ok(Some(GuardrailCall {
        identifier: identifier.to_owned(),
        version: version.to_owned(),
        trace,
    }))
}

/// The guardrail a Converse body names (already checked by the request validation).
pub fn from_converse(body: &Value) -> Option<GuardrailCall> {
    let config = body.get("guardrailConfig").filter(|v| !v.is_null())?;
    let text = |key: &str| config.get(key).and_then(Value::as_str).unwrap_or_default();
    Some(GuardrailCall {
        identifier: text("guardrailIdentifier").to_owned(),
        version: text("guardrailVersion").to_owned(),
        trace: matches!(text("trace"), "enabled" | "enabled_full"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Reply {
        Reply {
            reasoning: None,
            text: Some(text.into()),
            tool_call: None,
            stop_reason: StopReason::EndTurn,
            stop_sequence: None,
            input_tokens: 7,
            output_tokens: 5,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
        }
    }

    fn guardrails() -> Guardrails {
        let g = Guardrails::default();
        g.put(
            "gr1",
            GuardrailRule {
                blocked_words: vec!["Forbidden Topic".into()],
                blocked_input_messaging: "blocked input".into(),
                blocked_outputs_messaging: "blocked output".into(),
            },
        )
        .unwrap();
        g
    }

    fn prompt(text: &str) -> Prompt {
        Prompt {
            texts: vec![text.into()],
            last_user_text: text.into(),
            ..Prompt::default()
        }
    }

    #[test]
    fn a_blocked_input_never_reaches_the_model_and_is_traced() {
        let call = GuardrailCall {
            identifier: "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1".into(),
            version: "DRAFT".into(),
            trace: true,
        };
        let mut r = reply("fine");
        let applied = guardrails()
            .apply(&call, &prompt("tell me about the forbidden topic"), &mut r)
            .unwrap();
        assert!(applied.intervened);
        assert_eq!(r.text.as_deref(), Some("blocked input"));
        assert_eq!(r.stop_reason, StopReason::GuardrailIntervened);
        assert_eq!((r.input_tokens, r.output_tokens), (0, 0));
        let trace = applied.trace.unwrap();
        assert_eq!(
            trace["inputAssessment"]["gr1"]["wordPolicy"]["customWords"][0]["match"],
            "Forbidden Topic"
        );
    }

    #[test]
    fn a_blocked_answer_is_replaced_and_a_clean_call_is_untouched() {
        let call = GuardrailCall {
            identifier: "gr1".into(),
            version: "1".into(),
            trace: false,
        };
        let g = guardrails();
        let mut r = reply("the FORBIDDEN TOPIC is...");
        assert!(g.apply(&call, &prompt("hello"), &mut r).unwrap().intervened);
        assert_eq!(r.text.as_deref(), Some("blocked output"));
        assert_eq!(r.output_tokens, 5, "the model ran: its tokens count");
        let mut clean = reply("hello back");
        let applied = g.apply(&call, &prompt("hello"), &mut clean).unwrap();
        assert_eq!((applied.intervened, applied.trace), (false, None));
        assert_eq!(clean, reply("hello back"));
        let unknown = GuardrailCall {
            identifier: "nope".into(),
            ..call
        };
        let e = g.apply(&unknown, &prompt("x"), &mut clean).unwrap_err();
        assert_eq!(e.code, "ValidationException");
    }

    #[test]
    fn invoke_headers_need_both_identifier_and_version() {
        let mut h = http::HeaderMap::new();
        assert_eq!(from_headers(&h).unwrap(), None);
        h.insert("x-amzn-bedrock-guardrailidentifier", "gr1".parse().unwrap());
        assert!(from_headers(&h).is_err());
        h.insert("x-amzn-bedrock-guardrailversion", "DRAFT".parse().unwrap());
        h.insert("x-amzn-bedrock-trace", "ENABLED".parse().unwrap());
        let call = from_headers(&h).unwrap().unwrap();
        assert!(call.trace && call.version == "DRAFT");
        assert!(
            Guardrails::default()
                .put(
                    "Bad-Id",
                    GuardrailRule {
                        blocked_words: vec!["x".into()],
                        blocked_input_messaging: String::new(),
                        blocked_outputs_messaging: String::new(),
                    }
                )
                .is_err()
        );
    }
}
