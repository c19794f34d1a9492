"""Expands template.yaml with aws-sam-translator, offline, so cfn-lint sees what SAM deploys.

Plain cfn-lint does not expand SAM and so misses bad values inside AWS::Serverless::Function
(invoke mode, runtime, schedule expression, auth type).

`--choose NAME=VALUE` (repeatable) makes VALUE the parameter's default before expanding, and
`--source-out PATH` writes that chosen source as JSON. CloudFormation evaluates conditions only
at deploy time and linters judge a template by its defaults (checkov drops the resources whose
condition is false under them), so this is how a non-default choice such as
RouterCompute=ManagedInstances gets linted. A list parameter takes commas: A=x,y.
"""

import argparse
import json

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


def choose(template: dict, choices: dict[str, str]) -> dict:
    """Makes each chosen value its parameter's default; an unknown name is an error."""
    parameters = template.get("Parameters", {})
    for name, value in choices.items():
        if name not in parameters:
            raise SystemExit(f"--choose {name}: the template has no parameter {name}")
        parameters[name]["Default"] = value
    return template


def main(source: str, destination: str, choices: dict[str, str] | None = None,
         source_out: str | None = None) -> None:
    with open(source, encoding="utf-8") as handle:
        template = choose(yaml_parse(handle.read()), choices or {})
    if source_out:
        with open(source_out, "w", encoding="utf-8") as handle:
            json.dump(template, handle, indent=2)
    parameter_values = {}
    expanded = transform(as_packaged(template), parameter_values, OfflinePolicyLoader())
    with open(destination, "w", encoding="utf-8") as handle:
        json.dump(expanded, handle, indent=2)


def parse_choice(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


if __name__ == "__main__":
    del boto3  # imported only to fail early when the venv is incomplete
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--choose", type=parse_choice, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--source-out", metavar="PATH")
    arguments = parser.parse_args()
    main(arguments.source, arguments.destination, dict(arguments.choose), arguments.source_out)
