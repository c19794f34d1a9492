//! The HTTP side: accepting connections, authentication, routing on the raw path.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::control::{self, Query};
use crate::runtime;
use crate::state::{
    ApiError, Body, BoxError, EmulatorState, ModelAccessPatch, RequestContext, RuntimeContext,
};

/// Largest request body read (InvokeModel allows 25,000,000 bytes of payload).
const MAX_BODY: usize = 26 * 1024 * 1024;

/// Accepts connections until `shutdown` turns true, then lets open connections finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<EmulatorState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Stream frames are small writes; with Nagle's algorithm each one after the first
                // waits for the client's delayed ACK (about 40 ms).
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                let state = state.clone();
                let mut stop = shutdown.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(dispatch(state, req).await) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        result = conn.as_mut() => {
                            if let Err(e) = result { tracing::debug!(error = %e, "connection ended"); }
                        }
                        _ = stopped(&mut stop) => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = stopped(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(std::time::Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    response.map(|b| b.map_err(Into::into).boxed_unsync())
}

async fn dispatch(state: Arc<EmulatorState>, req: Request<Incoming>) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = route(state, req, &request_id).await;
    if !response.headers().contains_key("x-amzn-requestid")
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

/// Splits the raw path on `/` and percent-decodes each segment afterwards, so `%2F` inside an
/// ARN stays inside its segment.
fn path_segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

fn parse_query(query: Option<&str>) -> Query {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// Reads the SigV4 credential scope (`Credential=AKID/date/region/service/aws4_request`).
fn authenticate(
    req: &Request<Incoming>,
    query: &Query,
    request_id: &str,
) -> Result<RequestContext, ApiError> {
    let Some(header) = req.headers().get(http::header::AUTHORIZATION) else {
        // A presigned URL carries the same credential scope in its query string.
        if let Some((_, credential)) = query.iter().find(|(k, _)| k == "X-Amz-Credential")
            && let [key, _date, region, _service, "aws4_request"] =
                credential.split('/').collect::<Vec<_>>().as_slice()
        {
            return Ok(RequestContext {
                region: region.to_string(),
                access_key_id: key.to_string(),
                request_id: request_id.to_string(),
            });
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let header = header.to_str().unwrap_or("");
    let incomplete = |what: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "IncompleteSignatureException",
            format!("Authorization header requires {what}. Authorization={header}"),
        )
    };
    if let Some(token) = header.strip_prefix("Bearer ") {
        // Bedrock API keys: the region travels inside short-term keys; long-term keys carry
        // none, so such calls land in us-east-1.
        return Ok(RequestContext {
            region: bearer_region(token).unwrap_or_else(|| "us-east-1".to_string()),
            access_key_id: "BEDROCKAPIKEY".to_string(),
            request_id: request_id.to_string(),
        });
    }
    let Some(params) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete("the AWS4-HMAC-SHA256 algorithm"));
    };
    let credential = params
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))
        .ok_or_else(|| incomplete("'Credential' parameter"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, _date, region, _service, "aws4_request"] if !key.is_empty() && !region.is_empty() => {
            Ok(RequestContext {
                region: region.to_string(),
                access_key_id: key.to_string(),
                request_id: request_id.to_string(),
            })
        }
        _ => Err(incomplete("a valid 'Credential' scope")),
    }
}

/// Short-term Bedrock API keys are `bedrock-api-key-` + base64 of a presigned URL whose
/// `X-Amz-Credential` names the region.
fn bearer_region(token: &str) -> Option<String> {
    use base64::Engine;
    let encoded = token.strip_prefix("bedrock-api-key-")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let url = String::from_utf8(bytes).ok()?;
    let credential = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("X-Amz-Credential="))?;
    let credential = percent_decode_str(credential)
        .decode_utf8_lossy()
        .into_owned();
    credential.split('/').nth(2).map(str::to_string)
}

async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(ApiError::validation(format!(
            "The request body is larger than {MAX_BODY} bytes or was cut off."
        ))),
    }
}

async fn route(
    state: Arc<EmulatorState>,
    req: Request<Incoming>,
    request_id: &str,
) -> Response<Body> {
    let segments = path_segments(req.uri().path());
    let query = parse_query(req.uri().query());
    let method = req.method().clone();
    if segments.first().map(String::as_str) == Some("_emulator") {
        let (parts, body) = req.into_parts();
        let bytes = match read_body(body).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        };
        if segments.get(1).map(String::as_str) == Some("runtime") {
            let request = Request::from_parts(parts, bytes);
            return boxed(runtime::admin(&state, request).await);
        }
        return admin(&state, &method, &segments[1..], &query, &bytes)
            .unwrap_or_else(ApiError::into_response);
    }
    let ctx = match authenticate(&req, &query, request_id) {
        Ok(ctx) => ctx,
        Err(e) => return e.into_response(),
    };
    let (parts, body) = req.into_parts();
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    tracing::debug!(region = %ctx.region, method = %method, path = %parts.uri.path(), "request");
    let result = match (&method, segs.as_slice()) {
        (&Method::POST, ["model", model_id, "count-tokens"]) => {
            let rctx = RuntimeContext {
                state: state.clone(),
                request: ctx,
            };
            return boxed(runtime::count_tokens(&rctx, model_id, &bytes));
        }
        (&Method::POST, ["model", model_id, op]) => {
            match runtime::Operation::from_path_suffix(op) {
                Some(op) => {
                    let model_id = model_id.to_string();
                    let rctx = RuntimeContext {
                        state: state.clone(),
                        request: ctx,
                    };
                    let request = Request::from_parts(parts, bytes);
                    return boxed(runtime::handle(&rctx, op, &model_id, request).await);
                }
                None => Err(unknown(&method, &parts.uri)),
            }
        }
        (&Method::POST, ["inference-profiles"]) => {
            control::create_inference_profile(&state, &ctx, &bytes)
        }
        (&Method::GET, ["inference-profiles"]) => {
            control::list_inference_profiles(&state, &ctx, &query)
        }
        (&Method::GET, ["inference-profiles", id]) => {
            control::get_inference_profile(&state, &ctx, id, &query)
        }
        (&Method::DELETE, ["inference-profiles", id]) => {
            control::delete_inference_profile(&state, &ctx, id)
        }
        (&Method::POST, ["tagResource"]) => control::tag_resource(&state, &ctx, &bytes),
        (&Method::POST, ["untagResource"]) => control::untag_resource(&state, &ctx, &bytes),
        (&Method::POST, ["listTagsForResource"]) => {
            control::list_tags_for_resource(&state, &ctx, &bytes)
        }
        (&Method::GET, ["foundation-models"]) => control::list_foundation_models(&ctx, &query),
        (&Method::GET, ["foundation-models", id]) => {
            control::get_foundation_model(&ctx, id, &query)
        }
        (&Method::GET, ["foundation-model-availability", id]) => {
            control::get_foundation_model_availability(&state, &ctx, id)
        }
        (&Method::PUT, ["logging", "modelinvocations"]) => {
            control::put_logging(&state, &ctx, &bytes)
        }
        (&Method::GET, ["logging", "modelinvocations"]) => control::get_logging(&state, &ctx),
        (&Method::DELETE, ["logging", "modelinvocations"]) => control::delete_logging(&state, &ctx),
        _ => Err(unknown(&method, &parts.uri)),
    };
    result.unwrap_or_else(ApiError::into_response)
}

fn unknown(method: &Method, uri: &http::Uri) -> ApiError {
    ApiError::unknown_operation(format!("No operation matches {method} {}.", uri.path()))
}

/// `/_emulator/...`: reset and model-access states (no authentication).
fn admin(
    state: &Arc<EmulatorState>,
    method: &Method,
    segments: &[String],
    query: &Query,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let region_param = query
        .iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v.clone());
    match (method, segs.as_slice()) {
        (&Method::GET, ["health"]) => Ok(control::json_response(
            StatusCode::OK,
            &json!({"status": "ok"}),
        )),
        (&Method::POST, ["reset"]) => {
            state.reset();
            Ok(control::json_response(StatusCode::OK, &json!({})))
        }
        (&Method::GET, ["model-access", model_id]) => {
            let region = region_param.unwrap_or_else(|| "us-east-1".to_string());
            let model = crate::catalog::availability_model(&region, model_id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "The model {model_id} is not in the catalog of {region}."
                ))
            })?;
            Ok(control::json_response(
                StatusCode::OK,
                &state.model_access(&region, model.id).to_wire(model.id),
            ))
        }
        (&Method::PUT, ["model-access", model_id]) => {
            let mut map = control::parse_body(body)?;
            let regions: Vec<String> = match map.remove("regions") {
                None | Some(Value::Null) => match region_param {
                    Some(r) => vec![r],
                    None => crate::catalog::SEEDED_REGIONS
                        .iter()
                        .map(|r| r.to_string())
                        .collect(),
                },
                Some(value) => serde_json::from_value(value)
                    .map_err(|_| ApiError::validation("regions must be a list of region names."))?,
            };
            let patch: ModelAccessPatch = serde_json::from_value(Value::Object(map))
                .map_err(|e| ApiError::validation(format!("Invalid model access: {e}")))?;
            let mut answer = serde_json::Map::new();
            for region in regions {
                let model =
                    crate::catalog::availability_model(&region, model_id).ok_or_else(|| {
                        ApiError::not_found(format!(
                            "The model {model_id} is not in the catalog of {region}."
                        ))
                    })?;
                let access = state.set_model_access(&region, model.id, &patch);
                answer.insert(region, access.to_wire(model.id));
            }
            Ok(control::json_response(
                StatusCode::OK,
                &json!({ "regions": answer }),
            ))
        }
        _ => Err(ApiError::unknown_operation(format!(
            "No emulator admin route matches {method} /_emulator/{}.",
            segments.join("/")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_slash_stays_inside_its_segment() {
        let segments = path_segments(
            "/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabcdefghij12",
        );
        assert_eq!(
            segments,
            vec![
                "inference-profiles",
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12"
            ]
        );
    }

    #[test]
    fn query_values_are_decoded() {
        let q = parse_query(Some("type=APPLICATION&nextToken=a%3Db&byProvider=Meta+AI"));
        assert_eq!(q[0], ("type".into(), "APPLICATION".into()));
        assert_eq!(q[1].1, "a=b");
        assert_eq!(q[2].1, "Meta AI");
    }

    #[test]
    fn a_short_term_api_key_names_its_region() {
        use base64::Engine;
        let url = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=AKID%2F20250101%2Feu-west-1%2Fbedrock%2Faws4_request&Version=1";
        let token = format!(
            "bedrock-api-key-{}",
            base64::engine::general_purpose::STANDARD.encode(url)
        );
        assert_eq!(bearer_region(&token).as_deref(), Some("eu-west-1"));
    }
}
