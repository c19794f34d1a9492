"""Expands template.yaml with aws-sam-translator, offline, so cfn-lint sees what SAM deploys.

Plain cfn-lint does not expand SAM and so misses bad values inside AWS::Serverless::Function
(invoke mode, runtime, schedule expression, auth type).
"""

import json
import sys

import boto3
from samtranslator.translator.transform import transform
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyLoader(ManagedPolicyLoader):
    """The template names no AWS managed policies, so no IAM call is ever needed."""

    def __init__(self):
        pass

    def load(self):
        return {}


def as_packaged(template: dict) -> dict:
    """Points local CodeUri values at S3, as `sam package` does before deploying."""
    globals_function = template.get("Globals", {}).get("Function", {})
    if isinstance(globals_function.get("CodeUri"), str):
        globals_function["CodeUri"] = "s3://packaged-artifacts/bootstrap.zip"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            if isinstance(properties.get("CodeUri"), str):
                properties["CodeUri"] = "s3://packaged-artifacts/bootstrap.zip"
    return template


def main(source: str, destination: str) -> None:
    with open(source, encoding="utf-8") as handle:
        template = as_packaged(yaml_parse(handle.read()))
    parameter_values = {}
    expanded = transform(template, parameter_values, OfflinePolicyLoader())
    with open(destination, "w", encoding="utf-8") as handle:
        json.dump(expanded, handle, indent=2)


if __name__ == "__main__":
    del boto3  # imported only to fail early when the venv is incomplete
    main(sys.argv[1], sys.argv[2])
