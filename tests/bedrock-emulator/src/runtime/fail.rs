//! A runtime error as it goes on the wire: the restJson1 shape name, its status and message.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl Fail {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = match code {
            "ValidationException" | "ServiceQuotaExceededException" | "ConflictException" => 400,
            "AccessDeniedException" => 403,
            "ResourceNotFoundException" => 404,
            "ModelTimeoutException" => 408,
            "ModelErrorException" | "ModelStreamErrorException" => 424,
            "ThrottlingException" | "ModelNotReadyException" => 429,
            "ServiceUnavailableException" => 503,
            _ => 500,
        };
        Fail {
            code,
            status,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Fail::new("ValidationException", message)
    }

    /// The lowerCamel union member name used for this error inside an event stream.
    pub fn stream_member(&self) -> String {
        let mut chars = self.code.chars();
        match chars.next() {
            Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
            None => String::new(),
        }
    }
}

/// Maps an error code given by a user (admin route) to the canonical shape name.
pub fn canonical_code(name: &str) -> Option<&'static str> {
    const CODES: [&str; 11] = [
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ModelTimeoutException",
        "ModelErrorException",
        "ModelStreamErrorException",
        "ThrottlingException",
        "ModelNotReadyException",
        "InternalServerException",
        "ServiceUnavailableException",
        "ServiceQuotaExceededException",
    ];
    CODES.iter().copied().find(|c| c.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_bedrock_statuses_and_stream_member_names() {
        assert_eq!(Fail::new("ThrottlingException", "x").status, 429);
        assert_eq!(Fail::new("ServiceUnavailableException", "x").status, 503);
        assert_eq!(Fail::new("InternalServerException", "x").status, 500);
        assert_eq!(
            Fail::new("ThrottlingException", "x").stream_member(),
            "throttlingException"
        );
        assert_eq!(
            canonical_code("throttlingexception"),
            Some("ThrottlingException")
        );
        assert_eq!(canonical_code("Nope"), None);
    }
}
