//! What a route answers, and the one stream relay every streaming route uses.
//!
//! A stream is pulled lazily by the response body: each Bedrock event is encoded in the
//! caller's dialect as it arrives, every wait is bounded by the invocation's deadline, and when
//! the caller goes away the body is dropped and the Bedrock stream with it. A failure after the
//! first bytes ends the stream with the dialect's error event, never a re-send. The request
//! record travels with the stream, so its metrics document is written when the stream ends.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::UnsyncBoxBody};
use serde_json::Value;

use crate::caps::Target;
use crate::deadline::Deadline;
use crate::error::{BedrockError, Rendered, RouterError, render};
use crate::metrics::RequestRecord;
use crate::sse;

/// The response body: a whole document or a stream.
pub type RouterBody = UnsyncBoxBody<Bytes, Infallible>;

pub use crate::deadline::Events;

/// A route's answer before the request record is attached.
pub enum Reply {
    Whole(Response<Bytes>),
    Stream(Box<dyn OpenStream>),
}

/// A JSON answer.
pub fn json_reply(status: StatusCode, value: &Value) -> Reply {
    let mut response = Response::new(sse::json_framed(b"", value, b""));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Reply::Whole(response)
}

impl Reply {
    /// The HTTP response; a stream takes the record along so its metrics see the whole stream.
    pub fn into_response(self, mut record: RequestRecord) -> Response<RouterBody> {
        match self {
            Self::Whole(response) => {
                record.status = response.status().as_u16();
                response.map(|b| Full::new(b).boxed_unsync())
            }
            Self::Stream(stream) => {
                record.status = 200;
                record.streamed = true;
                stream.into_response(record)
            }
        }
    }
}

/// How one dialect writes a stream.
pub trait Encoder<E>: Send + 'static {
    /// The response's `Content-Type`.
    fn content_type(&self) -> &'static str;
    /// The bytes for one event (none when the dialect has nothing to say for it); usage and the
    /// first token are noted in the record here.
    fn event(&mut self, event: &E, record: &mut RequestRecord) -> Option<Bytes>;
    /// The dialect's error event for a failure mid-stream.
    fn error(&mut self, err: &RouterError, rendered: &Rendered) -> Bytes;
    /// The end-of-stream marker, if the dialect has one.
    fn end(&mut self) -> Option<Bytes> {
        None
    }
}

/// A stream whose first event is in hand (so the attempt runner has committed to it).
pub trait OpenStream: Send {
    fn into_response(self: Box<Self>, record: RequestRecord) -> Response<RouterBody>;
}

/// One Bedrock stream relayed to the caller through `encoder`.
pub struct Relay<E, C> {
    pub first: Option<E>,
    pub events: Events<E>,
    /// The target as called (the profile that answered), for mid-stream errors.
    pub target: Target,
    pub deadline: Deadline,
    pub encoder: C,
}

struct State<E, C> {
    pending: Option<E>,
    events: Events<E>,
    target: Target,
    deadline: Deadline,
    encoder: C,
    record: RequestRecord,
    finished: bool,
}

impl<E, C> State<E, C>
where
    E: Send + 'static,
    C: Encoder<E>,
{
    fn fail(&mut self, source: BedrockError) -> Bytes {
        let err = self.target.error(source);
        let rendered = render(&err);
        if rendered.status.is_server_error() {
            tracing::error!(error = %err, "stream failed mid-way");
        } else {
            tracing::info!(status = rendered.status.as_u16(), "stream refused mid-way");
        }
        self.record.status = rendered.status.as_u16();
        self.encoder.error(&err, &rendered)
    }
}

impl<E, C> OpenStream for Relay<E, C>
where
    E: Send + 'static,
    C: Encoder<E>,
{
    fn into_response(self: Box<Self>, record: RequestRecord) -> Response<RouterBody> {
        let content_type = self.encoder.content_type();
        let state = State {
            pending: self.first,
            events: self.events,
            target: self.target,
            deadline: self.deadline,
            encoder: self.encoder,
            record,
            finished: false,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if state.finished {
                    return None;
                }
                let next = match state.pending.take() {
                    Some(event) => Some(Ok(event)),
                    None => state.deadline.next(state.events.next()).await,
                };
                let bytes = match next {
                    Some(Ok(event)) => match state.encoder.event(&event, &mut state.record) {
                        Some(bytes) => bytes,
                        None => continue,
                    },
                    Some(Err(e)) => {
                        state.finished = true;
                        state.fail(e)
                    }
                    None => {
                        state.finished = true;
                        state.encoder.end()?
                    }
                };
                return Some((Ok::<_, Infallible>(Frame::data(bytes)), state));
            }
        });
        let mut response = Response::new(StreamBody::new(Box::pin(stream)).boxed_unsync());
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}
