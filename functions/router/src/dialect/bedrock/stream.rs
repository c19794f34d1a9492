//! How Bedrock-API streams are written: Bedrock's binary event stream (what the SDKs read), or
//! named server-sent events for a caller that asks for them.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::converse::StreamEvent;
use crate::error::{BedrockErrorKind, Rendered, RouterError};
use crate::eventstream;
use crate::metrics::RequestRecord;
use crate::relay::Encoder;
use crate::sse;

/// ConverseStream's events as Bedrock frames them: `:event-type messageStart` and the member's
/// structure as the payload.
pub struct ConverseFrames;

impl Encoder<StreamEvent> for ConverseFrames {
    fn content_type(&self) -> &'static str {
        eventstream::CONTENT_TYPE
    }

    fn event(&mut self, event: &StreamEvent, record: &mut RequestRecord) -> Option<Bytes> {
        record.note_converse_event(event);
        // `{"messageStart": {...}}`: the frame carries the member's value, its name is a header.
        let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
        let payload = value
            .get_mut(event.name())
            .map(Value::take)
            .unwrap_or(Value::Null);
        Some(eventstream::event(event.name(), &payload))
    }

    fn error(&mut self, err: &RouterError, rendered: &Rendered) -> Bytes {
        eventstream::exception(converse_exception(err), &rendered.message)
    }
}

/// ConverseStream's events as named server-sent events (`event: contentBlockDelta`).
pub struct NamedEvents;

impl Encoder<StreamEvent> for NamedEvents {
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn event(&mut self, event: &StreamEvent, record: &mut RequestRecord) -> Option<Bytes> {
        record.note_converse_event(event);
        let value = serde_json::to_value(event).unwrap_or(Value::Null);
        Some(sse::event(event.name(), &value))
    }

    fn error(&mut self, err: &RouterError, rendered: &Rendered) -> Bytes {
        let exception = converse_exception(err);
        sse::event(
            exception,
            &json!({ exception: {"message": rendered.message} }),
        )
    }
}

fn converse_exception(err: &RouterError) -> &'static str {
    match err {
        RouterError::Bedrock { source, .. } => stream_exception_member(source.kind, false),
        _ => "internalServerException",
    }
}

/// The stream exception member for a failure mid-stream. ConverseStream's union has five;
/// InvokeModelWithResponseStream's adds `modelTimeoutException`. Any other kind is a model
/// stream error there, as Bedrock reports it.
pub fn stream_exception_member(kind: BedrockErrorKind, has_timeout: bool) -> &'static str {
    match kind {
        BedrockErrorKind::Throttling => "throttlingException",
        BedrockErrorKind::Validation => "validationException",
        BedrockErrorKind::InternalServer => "internalServerException",
        BedrockErrorKind::ServiceUnavailable | BedrockErrorKind::Transport => {
            "serviceUnavailableException"
        }
        BedrockErrorKind::ModelTimeout | BedrockErrorKind::OutOfTime if has_timeout => {
            "modelTimeoutException"
        }
        _ => "modelStreamErrorException",
    }
}
