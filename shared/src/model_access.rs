//! Whether an account may invoke a model in a region, and what to do when it may not.
//!
//! Bedrock answers `GetFoundationModelAvailability` with four independent states (agreement,
//! authorization, entitlement, region). The provisioner refuses to create a profile over a
//! model that fails any of them and the verifier's doctor reports the same states; both read
//! the problems and remedies from here so an operator is told the same fix in both places.

/// `GetFoundationModelAvailability`'s answer, as strings (the SDK passes unknown values
/// through, and a state this product has not seen is still reported, not dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Availability {
    /// `agreementAvailability.status`: `AVAILABLE`, `PENDING`, `NOT_AVAILABLE`, `ERROR`; empty
    /// when the answer had none.
    pub agreement: String,
    /// `agreementAvailability.errorMessage`, when the agreement is in `ERROR`.
    pub agreement_error: Option<String>,
    /// `authorizationStatus`: `AUTHORIZED` or `NOT_AUTHORIZED`.
    pub authorization: String,
    /// `entitlementAvailability`: `AVAILABLE` or `NOT_AVAILABLE`.
    pub entitlement: String,
    /// `regionAvailability`: `AVAILABLE` or `NOT_AVAILABLE`.
    pub region: String,
}

/// One reason a model cannot be invoked, and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessProblem {
    /// What is wrong, naming the model, the region and the state Bedrock reported.
    pub problem: String,
    /// What the operator does about it.
    pub remedy: String,
}

impl Availability {
    /// The answer for a model the account can invoke in the region (every state available).
    pub fn available() -> Self {
        Self {
            agreement: "AVAILABLE".into(),
            agreement_error: None,
            authorization: "AUTHORIZED".into(),
            entitlement: "AVAILABLE".into(),
            region: "AVAILABLE".into(),
        }
    }

    /// Every state in the way of invoking `model_id` in `region`; empty when it can be invoked.
    pub fn problems(&self, model_id: &str, region: &str) -> Vec<AccessProblem> {
        let mut out = Vec::new();
        let mut push = |problem: String, remedy: &str| {
            out.push(AccessProblem {
                problem,
                remedy: remedy.to_owned(),
            })
        };
        match self.agreement.as_str() {
            "AVAILABLE" => {}
            "PENDING" => push(
                format!(
                    "the model agreement for {model_id} in {region} is still propagating (PENDING)"
                ),
                "wait a few minutes for the accepted agreement to propagate",
            ),
            "ERROR" => push(
                format!(
                    "the model agreement for {model_id} in {region} failed ({})",
                    self.agreement_error.as_deref().unwrap_or("no detail given")
                ),
                "request access again on the Bedrock console's Model access page",
            ),
            other => push(
                format!(
                    "the model agreement (EULA) for {model_id} has not been accepted in {region} \
                     (agreement {})",
                    if other.is_empty() { "unknown" } else { other }
                ),
                "request access to the model: accept its agreement on the Bedrock console's \
                 Model access page (or with CreateFoundationModelAgreement)",
            ),
        }
        if self.authorization != "AUTHORIZED" {
            push(
                format!(
                    "this account is not authorized to use {model_id} in {region} (authorization {})",
                    self.authorization
                ),
                "allow bedrock:InvokeModel and aws-marketplace:Subscribe on it (check IAM \
                 policies and SCP denies) and request model access",
            );
        }
        if self.entitlement != "AVAILABLE" {
            push(
                format!(
                    "the account is not entitled to {model_id} in {region} (entitlement {})",
                    self.entitlement
                ),
                "request model access on the Bedrock console's Model access page (an AWS \
                 Marketplace subscription for third-party models) and wait for it to propagate",
            );
        }
        if self.region != "AVAILABLE" {
            push(
                format!(
                    "{model_id} is not available in {region} (region availability {})",
                    self.region
                ),
                "enable the region for this account (Account > AWS Regions) or use a profile \
                 whose regions offer the model",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_available_model_has_no_problem() {
        assert!(
            Availability::available()
                .problems("m.x", "us-east-1")
                .is_empty()
        );
    }

    #[test]
    fn each_state_names_itself_and_its_remedy() {
        let ok = Availability::available();
        let cases = [
            (
                Availability {
                    agreement: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "NOT_AVAILABLE",
                "accept its agreement",
            ),
            (
                Availability {
                    agreement: String::new(),
                    ..ok.clone()
                },
                "agreement unknown",
                "request access",
            ),
            (
                Availability {
                    agreement: "PENDING".into(),
                    ..ok.clone()
                },
                "propagating",
                "wait a few minutes",
            ),
            (
                Availability {
                    agreement: "ERROR".into(),
                    agreement_error: Some("payment declined".into()),
                    ..ok.clone()
                },
                "payment declined",
                "request access again",
            ),
            (
                Availability {
                    authorization: "NOT_AUTHORIZED".into(),
                    ..ok.clone()
                },
                "not authorized",
                "aws-marketplace:Subscribe",
            ),
            (
                Availability {
                    entitlement: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "not entitled",
                "request model access",
            ),
            (
                Availability {
                    region: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "not available in us-east-1",
                "enable the region",
            ),
        ];
        for (a, problem, remedy) in cases {
            let found = a.problems("m.x", "us-east-1");
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].problem.contains(problem), "{found:?}");
            assert!(found[0].problem.contains("m.x"), "{found:?}");
            assert!(found[0].remedy.contains(remedy), "{found:?}");
        }
    }

    #[test]
    fn every_failing_state_is_reported() {
        let none = Availability::default();
        assert_eq!(none.problems("m.x", "eu-west-1").len(), 4);
    }
}
