//! The custom-resource protocol: what is read from the raw event before anything can fail, and
//! the response body, kept within CloudFormation's 4096-byte limit.

use serde_json::{Map, Value};

use crate::Error;

/// CloudFormation rejects response bodies larger than this.
pub const MAX_BODY_BYTES: usize = 4096;

/// Physical ID sent when a Create fails, so the Delete that follows is recognised and
/// acknowledged without touching anything.
pub const CREATE_FAILED_MARKER: &str = "BedrockProvisioner::CREATE_FAILED";

/// Part of the Reason kept when it must be cut (crhelper keeps the last 240 characters; the end
/// of an error chain is where the cause is).
const REASON_FLOOR_CHARS: usize = 240;

/// An echoed identifier longer than this cannot come from CloudFormation; it is cut so the body
/// still fits.
const ECHO_CAP_CHARS: usize = 1024;

/// What CloudFormation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl RequestType {
    /// Reads `RequestType`; the error is the FAILED response's Reason.
    fn read(event: &Value) -> Result<Self, String> {
        match event.get("RequestType") {
            Some(Value::String(s)) => match s.as_str() {
                "Create" => Ok(Self::Create),
                "Update" => Ok(Self::Update),
                "Delete" => Ok(Self::Delete),
                other => Err(format!(
                    "RequestType {other:?} is not Create, Update or Delete"
                )),
            },
            Some(_) => Err("RequestType must be a string".into()),
            None => Err("RequestType is missing".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
        }
    }
}

/// The event's envelope, read once from the raw JSON before anything can fail: the fields
/// needed to answer, and the request and resource types (kept as read, so an unusable one is
/// answered FAILED rather than left unanswered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
    /// Present on Update and Delete.
    pub physical_id: Option<String>,
    /// `RequestType`, or why it is unusable.
    pub request_type: Result<RequestType, String>,
    /// `ResourceType` when it is a string.
    pub resource_type: Option<String>,
}

impl Envelope {
    /// Reads the envelope. Only a missing or non-string `ResponseURL` is an error, because
    /// without it no answer can be sent; any other missing field is echoed as empty.
    pub fn read(event: &Value) -> Result<Envelope, Error> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        let response_url = field("ResponseURL")
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::Event("the event has no ResponseURL string, so no answer can be sent".into())
            })?;
        Ok(Envelope {
            response_url,
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_id: field("LogicalResourceId").unwrap_or_default(),
            physical_id: field("PhysicalResourceId").filter(|p| !p.is_empty()),
            request_type: RequestType::read(event),
            resource_type: field("ResourceType"),
        })
    }

    /// The physical ID to send when the work failed: the current one, or the failed-Create
    /// marker when there is none yet.
    pub fn failure_physical_id(&self) -> String {
        self.physical_id
            .clone()
            .unwrap_or_else(|| CREATE_FAILED_MARKER.to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        }
    }
}

/// One answer to CloudFormation.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: Status,
    pub reason: Option<String>,
    pub physical_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
    pub data: Map<String, Value>,
}

impl Response {
    pub fn success(envelope: &Envelope, physical_id: String, data: Map<String, Value>) -> Self {
        Response {
            status: Status::Success,
            reason: None,
            physical_id,
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_id: envelope.logical_id.clone(),
            data,
        }
    }

    pub fn failed(envelope: &Envelope, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.trim().is_empty() {
            reason = "the request failed without a message".to_owned();
        }
        Response {
            status: Status::Failed,
            reason: Some(reason),
            physical_id: envelope.failure_physical_id(),
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_id: envelope.logical_id.clone(),
            data: Map::new(),
        }
    }

    fn to_value(&self) -> Value {
        let mut body = Map::new();
        body.insert("Status".into(), self.status.as_str().into());
        if let Some(reason) = &self.reason {
            body.insert("Reason".into(), reason.clone().into());
        }
        body.insert("PhysicalResourceId".into(), self.physical_id.clone().into());
        body.insert("StackId".into(), self.stack_id.clone().into());
        body.insert("RequestId".into(), self.request_id.clone().into());
        body.insert("LogicalResourceId".into(), self.logical_id.clone().into());
        body.insert("NoEcho".into(), false.into());
        if !self.data.is_empty() {
            body.insert("Data".into(), Value::Object(self.data.clone()));
        }
        Value::Object(body)
    }

    /// The JSON body, never larger than [`MAX_BODY_BYTES`]: the Reason is cut first (keeping its
    /// tail), then the largest `Data` entries are dropped, and as a last resort over-long echoed
    /// identifiers are cut.
    pub fn to_body(&self) -> Vec<u8> {
        let mut shaped = self.clone();
        loop {
            let body = shaped.to_value().to_string().into_bytes();
            let overflow = match body.len().checked_sub(MAX_BODY_BYTES) {
                None | Some(0) => return body,
                Some(n) => n,
            };
            if shaped.shrink_reason(overflow) || shaped.drop_largest_data() || shaped.cap_echoes() {
                continue;
            }
            // Nothing left to shrink: fall back to a minimal, certainly small answer.
            let minimal = Response {
                status: shaped.status,
                reason: Some("response too large; see the function's logs".into()),
                physical_id: cut_tail(&shaped.physical_id, 200),
                stack_id: cut_tail(&shaped.stack_id, 200),
                request_id: cut_tail(&shaped.request_id, 200),
                logical_id: cut_tail(&shaped.logical_id, 200),
                data: Map::new(),
            };
            return minimal.to_value().to_string().into_bytes();
        }
    }

    fn shrink_reason(&mut self, overflow: usize) -> bool {
        let Some(reason) = &self.reason else {
            return false;
        };
        let chars = reason.chars().count();
        if chars <= REASON_FLOOR_CHARS {
            return false;
        }
        // Each removed character frees at least one byte, so removing `overflow` characters
        // (plus the marker's length) always makes progress.
        let keep = chars.saturating_sub(overflow + 4).max(REASON_FLOOR_CHARS);
        // A Reason already cut to the floor (plus the "..." marker) cannot shrink further here.
        if keep + 3 >= chars {
            return false;
        }
        self.reason = Some(format!("...{}", tail_chars(reason, keep)));
        true
    }

    fn drop_largest_data(&mut self) -> bool {
        let largest = self
            .data
            .iter()
            .max_by_key(|(k, v)| k.len() + v.to_string().len())
            .map(|(k, _)| k.clone());
        match largest {
            Some(key) => {
                tracing::warn!(attribute = %key, "dropping a Data attribute to fit the 4 KB response limit");
                self.data.remove(&key);
                true
            }
            None => false,
        }
    }

    fn cap_echoes(&mut self) -> bool {
        let mut changed = false;
        for field in [
            &mut self.physical_id,
            &mut self.stack_id,
            &mut self.request_id,
            &mut self.logical_id,
        ] {
            if field.chars().count() > ECHO_CAP_CHARS {
                *field = cut_tail(field, ECHO_CAP_CHARS);
                changed = true;
            }
        }
        // "..." plus 64 characters: only cut a Reason that is still longer than that.
        if let Some(reason) = &self.reason
            && reason.chars().count() > 67
            && !changed
        {
            self.reason = Some(format!("...{}", tail_chars(reason, 64)));
            changed = true;
        }
        changed
    }
}

fn tail_chars(s: &str, keep: usize) -> &str {
    let total = s.chars().count();
    if total <= keep {
        return s;
    }
    let skip = total - keep;
    match s.char_indices().nth(skip) {
        Some((idx, _)) => &s[idx..],
        None => "",
    }
}

fn cut_tail(s: &str, keep: usize) -> String {
    s.chars().take(keep).collect()
}

/// The stack's region and account, read from the StackId ARN
/// (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/GUID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl StackRef {
    pub fn parse(stack_id: &str) -> Result<StackRef, Error> {
        let bad = || {
            Error::Event(format!(
                "StackId {stack_id:?} is not a CloudFormation stack ARN (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID)"
            ))
        };
        let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(bad());
        };
        if *arn != "arn" || *service != "cloudformation" || region.is_empty() {
            return Err(bad());
        }
        let mut resource = resource.split('/');
        let (Some("stack"), Some(name)) = (resource.next(), resource.next()) else {
            return Err(bad());
        };
        if name.is_empty() {
            return Err(bad());
        }
        Ok(StackRef {
            partition: (*partition).to_owned(),
            region: (*region).to_owned(),
            account: (*account).to_owned(),
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope() -> Envelope {
        Envelope::read(&json!({
            "ResponseURL": "http://127.0.0.1:1/r",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/guid",
            "RequestId": "req-1",
            "LogicalResourceId": "Profile",
        }))
        .unwrap()
    }

    #[test]
    fn envelope_is_read_from_an_event_with_nothing_else_valid() {
        let env = Envelope::read(&json!({"ResponseURL": "http://x/", "RequestType": 7})).unwrap();
        assert_eq!(env.response_url, "http://x/");
        assert_eq!(env.stack_id, "");
        assert_eq!(env.failure_physical_id(), CREATE_FAILED_MARKER);
        assert_eq!(env.request_type, Err("RequestType must be a string".into()));
        assert_eq!(env.resource_type, None);
    }

    #[test]
    fn the_request_type_is_read_once_into_its_variant() {
        let read =
            |t: Value| Envelope::read(&json!({"ResponseURL": "http://x/", "RequestType": t}));
        assert_eq!(
            read(json!("Update")).unwrap().request_type,
            Ok(RequestType::Update)
        );
        assert_eq!(
            read(json!("Destroy")).unwrap().request_type,
            Err("RequestType \"Destroy\" is not Create, Update or Delete".into())
        );
    }

    #[test]
    fn event_without_response_url_is_an_error() {
        assert!(Envelope::read(&json!({"StackId": "s"})).is_err());
        assert!(Envelope::read(&json!("garbage")).is_err());
        assert!(Envelope::read(&json!({"ResponseURL": 5})).is_err());
    }

    #[test]
    fn failed_response_echoes_the_current_physical_id() {
        let mut env = envelope();
        env.physical_id = Some("arn:current".into());
        let body: Value = serde_json::from_slice(&Response::failed(&env, "x").to_body()).unwrap();
        assert_eq!(body["PhysicalResourceId"], "arn:current");
        assert_eq!(body["Status"], "FAILED");
        assert_eq!(body["Reason"], "x");
        assert_eq!(body["RequestId"], "req-1");
    }

    #[test]
    fn long_reason_is_cut_to_its_tail_within_4096_bytes() {
        let reason = format!("{}THE CAUSE", "é".repeat(10_000));
        let body = Response::failed(&envelope(), reason).to_body();
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let v: Value = serde_json::from_slice(&body).unwrap();
        let reason = v["Reason"].as_str().unwrap();
        assert!(reason.starts_with("..."));
        assert!(reason.ends_with("THE CAUSE"));
        assert!(reason.chars().count() >= REASON_FLOOR_CHARS);
    }

    #[test]
    fn oversized_data_is_dropped_largest_first() {
        let mut data = Map::new();
        data.insert("Arn".into(), "short".into());
        data.insert("Huge".into(), "x".repeat(5000).into());
        let body = Response::success(&envelope(), "id".into(), data).to_body();
        assert!(body.len() <= MAX_BODY_BYTES);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Data"]["Arn"], "short");
        assert!(v["Data"].get("Huge").is_none());
    }

    #[test]
    fn absurd_echoed_ids_still_fit() {
        let env = Envelope::read(&json!({
            "ResponseURL": "http://x/",
            "StackId": "s".repeat(9000),
            "RequestId": "r".repeat(9000),
            "LogicalResourceId": "l".repeat(9000),
            "PhysicalResourceId": "p".repeat(9000),
        }))
        .unwrap();
        let body = Response::failed(&env, "y".repeat(9000)).to_body();
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Status"], "FAILED");
        assert!(!v["Reason"].as_str().unwrap().is_empty());
    }

    #[test]
    fn blank_reason_is_replaced() {
        let r = Response::failed(&envelope(), "  ");
        assert!(!r.reason.unwrap().trim().is_empty());
    }

    #[test]
    fn stack_id_yields_region_account_and_name() {
        let s = StackRef::parse("arn:aws:cloudformation:eu-west-1:123456789012:stack/my-stack/abc")
            .unwrap();
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.account, "123456789012");
        assert_eq!(s.name, "my-stack");
        assert!(StackRef::parse("not-an-arn").is_err());
        assert!(StackRef::parse("arn:aws:s3:::bucket").is_err());
    }
}
