//! Embedding models on InvokeModel: Titan Text Embeddings V2, Cohere Embed v3/v4 and Nova
//! Multimodal Embeddings (text), validated
//! with their documented limits and answered with deterministic vectors (seeded by a digest of
//! each text), so the same text always embeds to the same vector.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fail::Fail;
use super::models::Embedder;
use super::responder::{self, Prompt};

/// Most texts one Cohere call embeds.
pub const COHERE_MAX_TEXTS: usize = 96;
/// Longest text Cohere v3 takes, in characters.
const COHERE_V3_MAX_CHARS: usize = 2048;
/// Longest Titan V2 input, in characters (the 8192-token limit is checked too).
const TITAN_MAX_CHARS: usize = 50_000;
const TITAN_MAX_TOKENS: u32 = 8192;
/// Nova Multimodal Embeddings' context, in tokens.
const NOVA_MAX_TOKENS: u32 = 8192;
const NOVA_SCHEMA: &str = "nova-multimodal-embed-v1";
const NOVA_PURPOSES: [&str; 9] = [
    "GENERIC_INDEX",
    "GENERIC_RETRIEVAL",
    "TEXT_RETRIEVAL",
    "IMAGE_RETRIEVAL",
    "VIDEO_RETRIEVAL",
    "DOCUMENT_RETRIEVAL",
    "AUDIO_RETRIEVAL",
    "CLASSIFICATION",
    "CLUSTERING",
];

/// What to embed and how, kept on the prompt for the response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedRequest {
    pub texts: Vec<String>,
    pub dimensions: usize,
    pub normalize: bool,
    pub types: Vec<String>,
    /// Cohere answers `embeddings` as a plain list unless `embedding_types` was given.
    pub by_type: bool,
}

fn malformed(detail: &str) -> Fail {
    Fail::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

fn strings(value: &Value, path: &str) -> Result<Vec<String>, Fail> {
    value
        .as_array()
        .ok_or_else(|| malformed(&format!("#/{path}: expected type: JSONArray")))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| malformed(&format!("#/{path}: expected type: String")))
        })
        .collect()
}

fn only_keys(body: &Value, allowed: &[&str]) -> Result<(), Fail> {
    if let Some(object) = body.as_object() {
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(malformed(&format!(
                    "#: extraneous key [{key}] is not permitted"
                )));
            }
        }
    }
    Ok(())
}

fn one_of(value: &Value, path: &str, allowed: &[&str]) -> Result<String, Fail> {
    match value.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s.to_string()),
        _ => Err(malformed(&format!(
            "#/{path}: {value} is not a valid enum value"
        ))),
    }
}

fn titan(body: &Value) -> Result<EmbedRequest, Fail> {
    only_keys(
        body,
        &["inputText", "dimensions", "normalize", "embeddingTypes"],
    )?;
    let text = body
        .get("inputText")
        .ok_or_else(|| malformed("#: required key [inputText] not found"))?
        .as_str()
        .ok_or_else(|| malformed("#/inputText: expected type: String"))?;
    if text.is_empty() || text.chars().count() > TITAN_MAX_CHARS {
        return Err(malformed(&format!(
            "#/inputText: expected minLength: 1, actual: 0 and maxLength: {TITAN_MAX_CHARS}"
        )));
    }
    if responder::count_tokens(text) > TITAN_MAX_TOKENS {
        return Err(Fail::validation(format!(
            "400 Bad Request: Too many input tokens. Max input tokens: {TITAN_MAX_TOKENS}, request input token count: {}",
            responder::count_tokens(text)
        )));
    }
    let dimensions = match body.get("dimensions") {
        None => 1024,
        Some(d) => match d.as_u64() {
            Some(n @ (256 | 512 | 1024)) => n as usize,
            _ => {
                return Err(malformed(&format!(
                    "#/dimensions: {d} is not a valid enum value"
                )));
            }
        },
    };
    let normalize = match body.get("normalize") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| malformed("#/normalize: expected type: Boolean"))?,
    };
    let types = match body.get("embeddingTypes") {
        None => vec!["float".to_string()],
        Some(v) => {
            let list = strings(v, "embeddingTypes")?;
            if list.is_empty() {
                return Err(malformed(
                    "#/embeddingTypes: expected minimum item count: 1, found: 0",
                ));
            }
            for t in &list {
                one_of(&json!(t), "embeddingTypes", &["float", "binary"])?;
            }
            list
        }
    };
    Ok(EmbedRequest {
        texts: vec![text.to_string()],
        dimensions,
        normalize,
        types,
        by_type: true,
    })
}

fn cohere(body: &Value, v4: bool) -> Result<EmbedRequest, Fail> {
    let mut keys = vec!["texts", "input_type", "truncate", "embedding_types"];
    if v4 {
        keys.extend(["output_dimension", "max_tokens"]);
    }
    only_keys(body, &keys)?;
    let texts = strings(
        body.get("texts")
            .ok_or_else(|| malformed("#: required key [texts] not found"))?,
        "texts",
    )?;
    if texts.is_empty() || texts.len() > COHERE_MAX_TEXTS {
        return Err(malformed(&format!(
            "#/texts: expected between 1 and {COHERE_MAX_TEXTS} items, found: {}",
            texts.len()
        )));
    }
    if !v4
        && let Some(long) = texts
            .iter()
            .find(|t| t.chars().count() > COHERE_V3_MAX_CHARS)
    {
        return Err(malformed(&format!(
            "#/texts: expected maxLength: {COHERE_V3_MAX_CHARS}, actual: {}",
            long.chars().count()
        )));
    }
    one_of(
        body.get("input_type")
            .ok_or_else(|| malformed("#: required key [input_type] not found"))?,
        "input_type",
        &[
            "search_document",
            "search_query",
            "classification",
            "clustering",
        ],
    )?;
    if let Some(t) = body.get("truncate") {
        one_of(t, "truncate", &["NONE", "START", "END"])?;
    }
    let (types, by_type) = match body.get("embedding_types") {
        None => (vec!["float".to_string()], false),
        Some(v) => {
            let list = strings(v, "embedding_types")?;
            for t in &list {
                one_of(
                    &json!(t),
                    "embedding_types",
                    &["float", "int8", "uint8", "binary", "ubinary"],
                )?;
            }
            (list, true)
        }
    };
    let dimensions = match (v4, body.get("output_dimension")) {
        (false, _) => 1024,
        (true, None) => 1536,
        (true, Some(d)) => match d.as_u64() {
            Some(n @ (256 | 512 | 1024 | 1536)) => n as usize,
            _ => {
                return Err(malformed(&format!(
                    "#/output_dimension: {d} is not a valid enum value"
                )));
            }
        },
    };
    Ok(EmbedRequest {
        texts,
        dimensions,
        normalize: true,
        types,
        by_type,
    })
}

/// Nova's synchronous request: `SINGLE_EMBEDDING` of one text (`value`; media and S3 sources
/// are the asynchronous API's and a multimodal caller's, not served here).
fn nova(body: &Value) -> Result<EmbedRequest, Fail> {
    only_keys(
        body,
        &["schemaVersion", "taskType", "singleEmbeddingParams"],
    )?;
    if let Some(v) = body.get("schemaVersion") {
        one_of(v, "schemaVersion", &[NOVA_SCHEMA])?;
    }
    let task = body
        .get("taskType")
        .ok_or_else(|| malformed("#: required key [taskType] not found"))?;
    if task.as_str() == Some("SEGMENTED_EMBEDDING") {
        return Err(Fail::validation(
            "SEGMENTED_EMBEDDING is only supported with the asynchronous API (StartAsyncInvoke); use SINGLE_EMBEDDING with InvokeModel.",
        ));
    }
    one_of(task, "taskType", &["SINGLE_EMBEDDING"])?;
    let params = body
        .get("singleEmbeddingParams")
        .ok_or_else(|| malformed("#: required key [singleEmbeddingParams] not found"))?;
    if !params.is_object() {
        return Err(malformed(
            "#/singleEmbeddingParams: expected type: JSONObject",
        ));
    }
    only_keys(
        params,
        &[
            "embeddingPurpose",
            "embeddingDimension",
            "text",
            "image",
            "audio",
            "video",
        ],
    )
    .map_err(|_| malformed("#/singleEmbeddingParams: extraneous key is not permitted"))?;
    one_of(
        params.get("embeddingPurpose").ok_or_else(|| {
            malformed("#/singleEmbeddingParams: required key [embeddingPurpose] not found")
        })?,
        "singleEmbeddingParams/embeddingPurpose",
        &NOVA_PURPOSES,
    )?;
    let dimensions = match params.get("embeddingDimension") {
        None => 3072,
        Some(d) => match d.as_u64() {
            Some(n @ (256 | 384 | 1024 | 3072)) => n as usize,
            _ => {
                return Err(malformed(&format!(
                    "#/singleEmbeddingParams/embeddingDimension: {d} is not a valid enum value"
                )));
            }
        },
    };
    let media: Vec<&str> = ["text", "image", "audio", "video"]
        .into_iter()
        .filter(|k| params.get(*k).is_some())
        .collect();
    if media.len() != 1 {
        return Err(malformed(&format!(
            "#/singleEmbeddingParams: exactly one of [text, image, audio, video] is required, found {}",
            media.len()
        )));
    }
    let text = params.get("text").ok_or_else(|| {
        Fail::validation("The local Bedrock embeds text only; send singleEmbeddingParams.text.")
    })?;
    only_keys(text, &["truncationMode", "value", "source"])?;
    let mode = one_of(
        text.get("truncationMode").ok_or_else(|| {
            malformed("#/singleEmbeddingParams/text: required key [truncationMode] not found")
        })?,
        "singleEmbeddingParams/text/truncationMode",
        &["START", "END", "NONE"],
    )?;
    let value = text
        .get("value")
        .ok_or_else(|| malformed("#/singleEmbeddingParams/text: required key [value] not found"))?
        .as_str()
        .ok_or_else(|| malformed("#/singleEmbeddingParams/text/value: expected type: String"))?;
    if value.is_empty() {
        return Err(malformed(
            "#/singleEmbeddingParams/text/value: expected minLength: 1, actual: 0",
        ));
    }
    let tokens = responder::count_tokens(value);
    if tokens > NOVA_MAX_TOKENS && mode == "NONE" {
        return Err(Fail::validation(format!(
            "Input text exceeds the maximum of {NOVA_MAX_TOKENS} tokens ({tokens} tokens) and truncationMode is NONE; shorten the text or set truncationMode to START or END."
        )));
    }
    Ok(EmbedRequest {
        texts: vec![value.to_string()],
        dimensions,
        normalize: true,
        types: vec!["float".to_string()],
        by_type: false,
    })
}

/// Parses an embedding body into a prompt whose texts give the input-token count.
pub fn parse(body: &Value, embedder: Embedder) -> Result<Prompt, Fail> {
    let request = match embedder {
        Embedder::TitanV2 => titan(body)?,
        Embedder::CohereV3 => cohere(body, false)?,
        Embedder::CohereV4 => cohere(body, true)?,
        Embedder::NovaMultimodal => nova(body)?,
    };
    Ok(Prompt {
        texts: request.texts.clone(),
        last_user_text: request.texts.join(" "),
        embedding: Some(request),
        ..Prompt::default()
    })
}

/// A deterministic unit-length (when `normalize`) float vector for `text`.
pub fn vector(text: &str, dimensions: usize, normalize: bool) -> Vec<f64> {
    let mut values = Vec::with_capacity(dimensions);
    let mut block = 0u32;
    while values.len() < dimensions {
        let digest = Sha256::new()
            .chain_update(text.as_bytes())
            .chain_update(block.to_be_bytes())
            .finalize();
        for pair in digest.chunks(2) {
            if values.len() == dimensions {
                break;
            }
            let raw = u16::from_be_bytes([pair[0], pair[1]]);
            values.push(f64::from(raw) / 32767.5 - 1.0);
        }
        block += 1;
    }
    if normalize {
        let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            values.iter_mut().for_each(|v| *v /= norm);
        }
    }
    values
}

fn as_type(values: &[f64], kind: &str) -> Value {
    match kind {
        "int8" => json!(
            values
                .iter()
                .map(|v| (v.clamp(-1.0, 1.0) * 127.0).round() as i64)
                .collect::<Vec<_>>()
        ),
        "uint8" => json!(
            values
                .iter()
                .map(|v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as i64)
                .collect::<Vec<_>>()
        ),
        // Titan: one 0/1 per dimension; Cohere packs eight signs per byte.
        "binary" | "ubinary" => {
            let bits: Vec<u8> = values.iter().map(|v| u8::from(*v > 0.0)).collect();
            let packed: Vec<i64> = bits
                .chunks(8)
                .map(|c| {
                    let byte = c.iter().fold(0u8, |acc, b| (acc << 1) | b);
                    if kind == "binary" {
                        i64::from(byte as i8)
                    } else {
                        i64::from(byte)
                    }
                })
                .collect();
            json!(packed)
        }
        _ => json!(values),
    }
}

/// The InvokeModel response body.
pub fn response(embedder: Embedder, request: &EmbedRequest, input_tokens: u32, id: &str) -> Value {
    let vectors: Vec<Vec<f64>> = request
        .texts
        .iter()
        .map(|t| vector(t, request.dimensions, request.normalize))
        .collect();
    match embedder {
        Embedder::TitanV2 => {
            let v = &vectors[0];
            let mut by_type = serde_json::Map::new();
            for t in &request.types {
                let value = if t == "binary" {
                    json!(v.iter().map(|x| u8::from(*x > 0.0)).collect::<Vec<_>>())
                } else {
                    json!(v)
                };
                by_type.insert(t.clone(), value);
            }
            json!({"embedding": v, "embeddingsByType": by_type, "inputTextTokenCount": input_tokens})
        }
        Embedder::NovaMultimodal => json!({
            "embeddings": [{"embeddingType": "TEXT", "embedding": vectors[0]}],
        }),
        Embedder::CohereV3 | Embedder::CohereV4 => {
            let embeddings = if request.by_type {
                let mut by_type = serde_json::Map::new();
                for t in &request.types {
                    by_type.insert(
                        t.clone(),
                        json!(vectors.iter().map(|v| as_type(v, t)).collect::<Vec<_>>()),
                    );
                }
                Value::Object(by_type)
            } else {
                json!(vectors)
            };
            json!({
                "id": id,
                "embeddings": embeddings,
                "texts": request.texts,
                "response_type": if request.by_type { "embeddings_by_type" } else { "embeddings_floats" },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_vectors_are_deterministic_normalized_and_of_the_asked_dimension() {
        let body = json!({"inputText": "hello world", "dimensions": 256, "embeddingTypes": ["float", "binary"]});
        let prompt = parse(&body, Embedder::TitanV2).unwrap();
        let request = prompt.embedding.clone().unwrap();
        let out = response(Embedder::TitanV2, &request, 2, "id");
        let v: Vec<f64> = serde_json::from_value(out["embedding"].clone()).unwrap();
        assert_eq!(v.len(), 256);
        let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-9);
        assert_eq!(
            out["embeddingsByType"]["binary"].as_array().unwrap().len(),
            256
        );
        assert_eq!(out["inputTextTokenCount"], 2);
        assert_eq!(response(Embedder::TitanV2, &request, 2, "id"), out);
        for bad in [
            json!({"inputText": "x", "dimensions": 300}),
            json!({"inputText": ""}),
            json!({"texts": ["x"]}),
        ] {
            assert_eq!(
                parse(&bad, Embedder::TitanV2).unwrap_err().code,
                "ValidationException"
            );
        }
    }

    #[test]
    fn nova_embeds_one_text_of_a_listed_dimension_with_a_purpose() {
        let body = |params: Value| {
            json!({"schemaVersion": "nova-multimodal-embed-v1", "taskType": "SINGLE_EMBEDDING",
                   "singleEmbeddingParams": params})
        };
        let ok = body(
            json!({"embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 384,
                             "text": {"truncationMode": "END", "value": "hello world"}}),
        );
        let request = parse(&ok, Embedder::NovaMultimodal)
            .unwrap()
            .embedding
            .unwrap();
        let out = response(Embedder::NovaMultimodal, &request, 2, "id");
        assert_eq!(out["embeddings"][0]["embeddingType"], "TEXT");
        assert_eq!(
            out["embeddings"][0]["embedding"].as_array().unwrap().len(),
            384
        );
        let default = body(
            json!({"embeddingPurpose": "CLUSTERING", "text": {"truncationMode": "NONE", "value": "x"}}),
        );
        let request = parse(&default, Embedder::NovaMultimodal)
            .unwrap()
            .embedding
            .unwrap();
        assert_eq!(request.dimensions, 3072);
        let long = "word ".repeat(9000);
        for (bad, expected) in [
            (
                body(
                    json!({"embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 512, "text": {"truncationMode": "END", "value": "x"}}),
                ),
                "embeddingDimension: 512 is not a valid enum value",
            ),
            (
                body(
                    json!({"embeddingPurpose": "SEARCH", "text": {"truncationMode": "END", "value": "x"}}),
                ),
                "embeddingPurpose: \"SEARCH\" is not a valid enum value",
            ),
            (
                body(json!({"embeddingPurpose": "GENERIC_INDEX", "text": {"value": "x"}})),
                "required key [truncationMode]",
            ),
            (
                body(
                    json!({"embeddingPurpose": "GENERIC_INDEX", "text": {"truncationMode": "NONE", "value": long}}),
                ),
                "exceeds the maximum of 8192 tokens",
            ),
            (
                json!({"taskType": "SEGMENTED_EMBEDDING", "singleEmbeddingParams": {}}),
                "only supported with the asynchronous API",
            ),
            (json!({"inputText": "x"}), "extraneous key [inputText]"),
        ] {
            let e = parse(&bad, Embedder::NovaMultimodal).unwrap_err();
            assert!(e.message.contains(expected), "{expected}: {}", e.message);
        }
    }

    #[test]
    fn cohere_takes_up_to_96_texts_and_answers_by_type_when_asked() {
        let texts: Vec<String> = (0..96).map(|i| format!("text {i}")).collect();
        let body = json!({"texts": texts, "input_type": "search_document"});
        let request = parse(&body, Embedder::CohereV3).unwrap().embedding.unwrap();
        let out = response(Embedder::CohereV3, &request, 192, "id");
        assert_eq!(out["response_type"], "embeddings_floats");
        assert_eq!(out["embeddings"].as_array().unwrap().len(), 96);
        assert_eq!(out["embeddings"][0].as_array().unwrap().len(), 1024);
        let too_many: Vec<String> = (0..97).map(|i| format!("t{i}")).collect();
        let e = parse(
            &json!({"texts": too_many, "input_type": "search_query"}),
            Embedder::CohereV3,
        )
        .unwrap_err();
        assert!(e.message.contains("between 1 and 96"), "{}", e.message);
        let e = parse(&json!({"texts": ["x"]}), Embedder::CohereV3).unwrap_err();
        assert!(
            e.message.contains("required key [input_type]"),
            "{}",
            e.message
        );
        let v4 = json!({"texts": ["a", "b"], "input_type": "search_query", "output_dimension": 512,
                        "embedding_types": ["float", "int8"]});
        let request = parse(&v4, Embedder::CohereV4).unwrap().embedding.unwrap();
        let out = response(Embedder::CohereV4, &request, 2, "id");
        assert_eq!(out["response_type"], "embeddings_by_type");
        assert_eq!(out["embeddings"]["float"][1].as_array().unwrap().len(), 512);
        assert_eq!(out["embeddings"]["int8"][0].as_array().unwrap().len(), 512);
        let e = parse(
            &json!({"texts": ["x"], "input_type": "search_query", "output_dimension": 512}),
            Embedder::CohereV3,
        )
        .unwrap_err();
        assert!(
            e.message.contains("extraneous key [output_dimension]"),
            "{}",
            e.message
        );
    }
}
