"""The SAM template, as written and as SAM expands it: the properties a deploy depends on."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "tools"))
import expand_sam  # noqa: E402

FUNCTIONS = {"ProvisionerFunction": "provisioner", "RouterFunction": "router", "VerifierFunction": "verifier",
             "RouterManagedFunction": "router"}
# RouterCompute picks one of the two: on demand, or on Lambda Managed Instances.
ROUTERS = ("RouterFunction", "RouterManagedFunction")


@pytest.fixture(scope="module")
def template():
    return yaml_parse((REPO / "template.yaml").read_text())


@pytest.fixture(scope="module")
def expanded(tmp_path_factory):
    out = tmp_path_factory.mktemp("sam") / "expanded.json"
    expand_sam.main(str(REPO / "template.yaml"), str(out))
    return json.loads(out.read_text())


def test_every_function_builds_its_own_binary_from_the_workspace_root(template):
    globals_function = template["Globals"]["Function"]
    assert globals_function["Runtime"] == "provided.al2023"
    assert globals_function["Architectures"] == ["arm64"]
    assert globals_function["CodeUri"] == "."
    for logical_id, binary in FUNCTIONS.items():
        resource = template["Resources"][logical_id]
        assert resource["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert resource["Metadata"]["BuildProperties"]["Binary"] == binary
        assert "CodeUri" not in resource["Properties"], "a per-function CodeUri breaks sam build"


def test_router_url_streams_and_takes_its_auth_type_from_a_parameter(expanded):
    url = expanded["Resources"]["RouterFunctionUrl"]["Properties"]
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["AuthType"] == {"Ref": "RouterAuthType"}
    assert "Cors" not in url


def test_public_router_permissions_exist_only_under_the_public_condition(expanded):
    resources = expanded["Resources"]
    permissions = {
        name: r for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal") == "*"
    }
    actions = sorted(p["Properties"]["Action"] for p in permissions.values())
    assert actions == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    for permission in permissions.values():
        assert permission["Condition"] == "PublicRouter"
    invoke = next(p for p in permissions.values() if p["Properties"]["Action"] == "lambda:InvokeFunction")
    assert invoke["Properties"]["InvokedViaFunctionUrl"] is True
    url_invoke = next(p for p in permissions.values() if p["Properties"]["Action"] == "lambda:InvokeFunctionUrl")
    assert url_invoke["Properties"]["FunctionUrlAuthType"] == "NONE"


def test_public_router_requires_api_keys(template):
    rule = template["Rules"]["PublicRouterNeedsKeys"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "RouterAuthType"}, "NONE"]}


def test_profiles_reach_router_and_verifier_config_through_getatt_and_env_vars(template):
    for logical_id in ("RouterFunction", "VerifierFunction"):
        variables = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["CLAUDE_PROFILE_ARN"] == {"Fn::GetAtt": ["ClaudeProfile", "InferenceProfileArn"]}
        assert variables["NOVA_PROFILE_ARN"] == {"Fn::GetAtt": ["NovaProfile", "InferenceProfileArn"]}
        body = variables["PROFILES_CONFIG"]["Fn::Sub"][0]
        # ${!VAR} survives !Sub as a literal ${VAR} that the functions expand at cold start.
        assert "${!CLAUDE_PROFILE_ARN}" in body and "${!NOVA_PROFILE_ARN}" in body


def test_every_profile_and_logging_resource_sets_a_service_timeout(template):
    custom = {
        name: r for name, r in template["Resources"].items()
        if r["Type"] in ("Custom::BedrockInferenceProfile", "Custom::BedrockInvocationLogging")
    }
    assert set(custom) == {"ClaudeProfile", "NovaProfile", "InvocationLogging"}
    for resource in custom.values():
        assert 1 <= int(resource["Properties"]["ServiceTimeout"]) <= 900
        assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["ProvisionerFunction", "Arn"]}


def test_verifier_runs_on_a_parameterised_schedule(expanded):
    rules = [r for r in expanded["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert len(rules) == 1
    assert rules[0]["Properties"]["ScheduleExpression"] == {"Ref": "VerifierScheduleRate"}


def test_router_may_invoke_only_its_profiles_and_their_models(template):
    statements = template["Resources"]["RouterFunction"]["Properties"]["Policies"][0]["Statement"]
    invoke = [s for s in statements if isinstance(s, dict) and "bedrock:InvokeModel" in s.get("Action", [])]
    for statement in invoke:
        assert statement["Resource"] != "*"
    assert not any(s.get("Resource") == "*" for s in statements if isinstance(s, dict))


def test_a_router_guardrail_is_applied_and_binding_only_when_given(template):
    router = template["Resources"]["RouterFunction"]["Properties"]
    statements = router["Policies"][0]["Statement"]
    guarded = {s[1]["Sid"]: s[1] for s in (x.get("Fn::If") for x in statements if isinstance(x, dict))
               if s and s[0] == "HasRouterGuardrail"}
    assert guarded["ApplyTheGuardrail"]["Action"] == "bedrock:ApplyGuardrail"
    deny = guarded["InvokeOnlyWithTheGuardrail"]
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    bound = deny["Condition"]["StringNotEquals"]["bedrock:GuardrailIdentifier"]
    # The router's own default guardrail is the very value IAM binds.
    env = router["Environment"]["Variables"]["ROUTER_GUARDRAIL"]["Fn::If"]
    assert env[0] == "HasRouterGuardrail" and env[1] == bound
    assert template["Conditions"]["HasRouterGuardrail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RouterGuardrailArn"}, ""]}]}


def test_template_and_its_expansion_pass_cfn_lint(tmp_path):
    expanded_path = tmp_path / "expanded.json"
    expand_sam.main(str(REPO / "template.yaml"), str(expanded_path))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    for path in (REPO / "template.yaml", expanded_path):
        result = subprocess.run([str(cfn_lint), str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_body_is_json_and_shows_coverage_misses_violations_and_router_latency(template):
    body = template["Resources"]["ProfilesDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "us-east-1"))["widgets"]
    text = json.dumps(widgets)
    for metric in ("Coverage", "MappingMisses", "RegionViolations", "Latency", "TimeToFirstToken", "InputTokens"):
        assert metric in text, metric


def test_alarm_watches_the_verifiers_undimensioned_totals(template):
    alarm = template["Resources"]["MappingFailureAlarm"]["Properties"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"MappingMisses", "RegionViolations"}
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_alarm_statistic_is_unchanged_by_a_redelivered_scan(template):
    # The verifier emits once per completed window; a redelivered schedule event repeats it.
    alarm = template["Resources"]["MappingFailureAlarm"]["Properties"]
    stats = {m["MetricStat"]["Stat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert stats == {"Maximum"}


def _condition_holds(template, name, parameters):
    """Evaluates one of the template's conditions (Fn::Not, Fn::Equals and Ref are all it uses)."""

    def value(node):
        if isinstance(node, dict) and "Ref" in node:
            chosen = parameters.get(node["Ref"], template["Parameters"].get(node["Ref"], {}).get("Default"))
            # CloudFormation hands conditions every parameter as a string (Number 0 is "0").
            return str(chosen) if isinstance(chosen, (int, float)) else chosen
        if isinstance(node, dict) and "Fn::Equals" in node:
            left, right = node["Fn::Equals"]
            return value(left) == value(right)
        if isinstance(node, dict) and "Fn::Not" in node:
            return not value(node["Fn::Not"][0])
        if isinstance(node, dict) and "Condition" in node:
            return value(template["Conditions"][node["Condition"]])
        if isinstance(node, str):
            return node
        raise AssertionError(f"unexpected condition node {node!r}")

    return value(template["Conditions"][name])


def _verifier_triggers(template, mode):
    resources = template["Resources"]
    present = set()
    for name in ("VerifierSchedule", "VerifierSchedulePermission", "VerifierSubscription",
                 "VerifierSubscriptionPermission"):
        condition = resources[name].get("Condition")
        if condition is None or _condition_holds(template, condition, {"VerifierMode": mode}):
            present.add(name)
    return present


def test_verifier_mode_chooses_the_schedule_the_subscription_or_both(template):
    parameter = template["Parameters"]["VerifierMode"]
    assert parameter["AllowedValues"] == ["schedule", "stream", "both"]
    assert parameter["Default"] == "schedule", "the default keeps today's scheduled scan"
    assert _verifier_triggers(template, "schedule") == {"VerifierSchedule", "VerifierSchedulePermission"}
    assert _verifier_triggers(template, "stream") == {"VerifierSubscription", "VerifierSubscriptionPermission"}
    assert _verifier_triggers(template, "both") == {
        "VerifierSchedule", "VerifierSchedulePermission", "VerifierSubscription", "VerifierSubscriptionPermission"}
    rule = template["Resources"]["VerifierSchedule"]["Properties"]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["VerifierFunction", "Arn"]}


def test_the_subscription_feeds_the_verifier_every_record_of_the_invocation_log_group(template):
    resources = template["Resources"]
    subscription = resources["VerifierSubscription"]
    assert subscription["DependsOn"] == "VerifierSubscriptionPermission", "CloudWatch Logs tests delivery on create"
    properties = subscription["Properties"]
    assert properties["LogGroupName"] == {"Ref": "InvocationLogGroup"}
    assert properties["DestinationArn"] == {"Fn::GetAtt": ["VerifierFunction", "Arn"]}
    assert properties["FilterPattern"] == "", "malformed lines must reach the stream as they reach the scan"
    permission = resources["VerifierSubscriptionPermission"]["Properties"]
    assert permission["Principal"] == "logs.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["InvocationLogGroup", "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


SPEND_SOURCE = REPO / "shared" / "src" / "spend.rs"


def test_spend_table_has_the_keys_and_ttl_spend_rs_documents(template):
    table = template["Resources"]["SpendTable"]
    props = table["Properties"]
    doc = SPEND_SOURCE.read_text()
    assert "partition key `pk`, sort key `sk`, both strings; `expiresAt` is the TTL" in doc
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    # Spend history outlives a stack deletion or a replacing update.
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_router_gets_the_spend_table_and_alert_topic_through_the_env_vars_spend_rs_reads(template):
    env = template["Resources"]["RouterFunction"]["Properties"]["Environment"]["Variables"]
    doc = SPEND_SOURCE.read_text()
    for name in ("SPEND_TABLE_NAME", "ALERT_TOPIC_ARN"):
        assert f'"{name}"' in doc, name
    assert env["SPEND_TABLE_NAME"] == {"Ref": "SpendTable"}
    assert env["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}


def test_router_may_only_update_and_read_the_spend_table_and_publish_to_the_alert_topic(template):
    statements = [
        s
        for s in template["Resources"]["RouterFunction"]["Properties"]["Policies"][0]["Statement"]
        if isinstance(s, dict)
    ]
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(dynamo) == 1
    assert sorted(_actions(dynamo[0])) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert dynamo[0]["Resource"] == {"Fn::GetAtt": ["SpendTable", "Arn"]}
    sns = [s for s in statements if any(a.startswith("sns:") for a in _actions(s))]
    assert len(sns) == 1
    assert _actions(sns[0]) == ["sns:Publish"]
    assert sns[0]["Resource"] == {"Ref": "AlertTopic"}


def test_no_other_function_may_touch_the_spend_table(template):
    for name, resource in template["Resources"].items():
        if name in ROUTERS or resource["Type"] != "AWS::Serverless::Function":
            continue
        assert "dynamodb:" not in json.dumps(resource["Properties"].get("Policies", [])), name


def test_dashboard_shows_spend_per_team_and_model_today_and_this_month_unattributed_and_budget(template):
    body = template["Resources"]["ProfilesDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "us-east-1"))["widgets"]
    text = json.dumps(widgets)
    # The router's EMF document: Cost under {Tenant} and {Tenant, Model}, BudgetUsed in percent.
    router = (REPO / "functions" / "router" / "src" / "spend.rs").read_text()
    for emitted in ('.metric("Cost"', '.metric("BudgetUsed"', '.metric("SpendStoreFailures"'):
        assert emitted in router, emitted
    assert '{BedrockProfiles/Router,Tenant} MetricName=\\"Cost\\"' in text
    assert '{BedrockProfiles/Router,Tenant,Model} MetricName=\\"Cost\\"' in text
    assert '{BedrockProfiles/Router,Tenant} MetricName=\\"BudgetUsed\\"' in text
    assert "UnattributedCost" in text
    periods = {w["properties"]["period"] for w in widgets if "Cost" in json.dumps(w)}
    assert 86400 in periods and 2592000 in periods


def test_dashboard_shows_the_prompt_cache_hit_rate_per_team_and_model(template):
    body = template["Resources"]["ProfilesDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "us-east-1"))["widgets"]
    text = json.dumps(widgets)
    # The router emits the hit per cacheable call, with the {Tenant, Model} dimension set.
    metrics = (REPO / "functions" / "router" / "src" / "metrics.rs").read_text()
    assert '.metric("PromptCacheHit"' in metrics
    assert ".dimension_set(&[Dimension::Tenant, Dimension::Model])" in metrics
    assert "{BedrockProfiles/Router,Tenant,Model} MetricName=\\\"PromptCacheHit\\\"', 'Average'" in text
    assert "{BedrockProfiles/Router,Tenant,Model} MetricName=\\\"CacheReadTokens\\\"" in text


def test_budget_alarm_fires_when_any_tenant_has_spent_its_budget(template):
    alarm = template["Resources"]["BudgetAlarm"]["Properties"]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 100
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    (query,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert query["Expression"] == 'SELECT MAX(BudgetUsed) FROM SCHEMA("BedrockProfiles/Router", Tenant)'


def _actions(statement):
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


# --- RouterCompute: the router on demand (default) or on Lambda Managed Instances ---------------

MANAGED_CHOICE = {
    "RouterCompute": "ManagedInstances",
    "RouterSubnetIds": "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "RouterSecurityGroupIds": "sg-0123456789abcdef0",
}
MANAGED_ONLY = {"RouterManagedFunction", "RouterCapacityProvider", "RouterCapacityOperatorRole"}


def _present(template, parameters):
    """The logical IDs CloudFormation creates for these parameter values (conditions evaluated)."""
    return {
        name for name, resource in template["Resources"].items()
        if "Condition" not in resource or _condition_holds(template, resource["Condition"], parameters)
    }


@pytest.fixture(scope="module")
def managed(tmp_path_factory):
    """The ManagedInstances choice, as written and as SAM expands it."""
    out = tmp_path_factory.mktemp("managed")
    expand_sam.main(str(REPO / "template.yaml"), str(out / "expanded.json"), MANAGED_CHOICE,
                    str(out / "source.json"))
    return {"dir": out, "source": json.loads((out / "source.json").read_text()),
            "expanded": json.loads((out / "expanded.json").read_text())}


def test_router_compute_defaults_to_on_demand_with_no_capacity_provider(template, expanded):
    parameter = template["Parameters"]["RouterCompute"]
    assert parameter["AllowedValues"] == ["OnDemand", "ManagedInstances"]
    assert parameter["Default"] == "OnDemand"
    present = _present(expanded, {})
    assert "RouterFunction" in present and "RouterFunctionUrl" in present
    assert not present & MANAGED_ONLY
    assert not any(expanded["Resources"][name]["Type"] in ("AWS::Lambda::Version", "AWS::Lambda::Alias")
                   for name in present), "the on-demand router stays unversioned, as before"
    assert not any(expanded["Resources"][name]["Type"] == "AWS::Lambda::CapacityProvider" for name in present)
    # The on-demand router keeps its size, limit and URL, and carries no Managed Instances setting.
    router = expanded["Resources"]["RouterFunction"]["Properties"]
    assert router["MemorySize"] == 128 and router["ReservedConcurrentExecutions"] == 50
    assert "CapacityProviderConfig" not in router and "FunctionScalingConfig" not in router
    assert _output_url(expanded, {}) == {"Fn::GetAtt": ["RouterFunctionUrl", "FunctionUrl"]}


def _output_url(template, parameters):
    condition, when_true, when_false = template["Outputs"]["RouterUrl"]["Value"]["Fn::If"]
    return when_true if _condition_holds(template, condition, parameters) else when_false


def test_managed_instances_choice_creates_the_provider_and_the_managed_router_only(managed):
    expanded = managed["expanded"]
    present = _present(expanded, MANAGED_CHOICE)
    assert MANAGED_ONLY <= present
    assert "RouterFunction" not in present and "RouterFunctionUrl" not in present
    assert _output_url(expanded, MANAGED_CHOICE) == {"Fn::GetAtt": ["RouterManagedFunctionUrl", "FunctionUrl"]}
    provider = expanded["Resources"]["RouterCapacityProvider"]
    assert provider["Type"] == "AWS::Lambda::CapacityProvider"
    properties = provider["Properties"]
    assert properties["VpcConfig"] == {"SubnetIds": {"Ref": "RouterSubnetIds"},
                                       "SecurityGroupIds": {"Ref": "RouterSecurityGroupIds"}}
    assert properties["InstanceRequirements"]["Architectures"] == ["arm64"], "instances default to x86_64"
    assert properties["PermissionsConfig"] == {
        "CapacityProviderOperatorRoleArn": {"Fn::GetAtt": ["RouterCapacityOperatorRole", "Arn"]}}
    # Public-URL permissions follow the router that exists (on Managed Instances: its alias,
    # which is what the URL invokes).
    for name in ("RouterPublicUrlPermission", "RouterPublicInvokePermission"):
        assert expanded["Resources"][name]["Properties"]["FunctionName"] == {
            "Fn::If": ["RouterOnManagedInstances", {"Ref": "RouterManagedFunctionAliaslive"}, {"Ref": "RouterFunction"}]}


def test_managed_router_points_at_the_provider_with_the_streams_per_environment(template, managed):
    parameter = template["Parameters"]["RouterStreamsPerEnvironment"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 64
    assert (parameter["MinValue"], parameter["MaxValue"]) == (1, 1600), "the API's valid range"
    assert "docs/benchmarks.md" in parameter["Description"]
    function = managed["expanded"]["Resources"]["RouterManagedFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    properties = function["Properties"]
    assert properties["CapacityProviderConfig"] == {"LambdaManagedInstancesCapacityProviderConfig": {
        "CapacityProviderArn": {"Fn::GetAtt": ["RouterCapacityProvider", "Arn"]},
        "PerExecutionEnvironmentMaxConcurrency": {"Ref": "RouterStreamsPerEnvironment"},
        "ExecutionEnvironmentMemoryGiBPerVCpu": 2,
    }}
    # 2 GB and 1 vCPU is the smallest Managed Instances environment; no function VPC beside it.
    assert properties["MemorySize"] == 2048
    assert "VpcConfig" not in properties and "ReservedConcurrentExecutions" not in properties
    assert properties["Architectures"] == ["arm64"]
    url = managed["expanded"]["Resources"]["RouterManagedFunctionUrl"]["Properties"]
    assert url["InvokeMode"] == "RESPONSE_STREAM" and url["AuthType"] == {"Ref": "RouterAuthType"}
    # Managed Instances run published versions: the URL invokes the alias SAM moves to each new
    # version, and replaced versions are deleted rather than kept on the instances.
    assert url["TargetFunctionArn"] == {"Ref": "RouterManagedFunctionAliaslive"}
    resources = managed["expanded"]["Resources"]
    alias = resources["RouterManagedFunctionAliaslive"]
    assert alias["Condition"] == "RouterOnManagedInstances"
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert resources[version_id]["Type"] == "AWS::Lambda::Version"
    assert resources[version_id]["DeletionPolicy"] == "Delete"


def test_both_routers_share_one_environment_and_one_policy(managed):
    resources = managed["source"]["Resources"]
    on_demand, managed_router = (resources[name]["Properties"] for name in ROUTERS)
    for key in ("Environment", "Policies", "FunctionUrlConfig", "Timeout", "Description"):
        if key == "Description":
            assert managed_router[key].startswith(on_demand[key])
            continue
        assert managed_router[key] == on_demand[key], key
    assert resources["RouterManagedFunction"]["Metadata"]["BuildProperties"] == {"Binary": "router"}
    roles = managed["expanded"]["Resources"]
    documents = [[p["PolicyDocument"] for p in roles[f"{name}Role"]["Properties"]["Policies"]] for name in ROUTERS]
    assert documents[0] == documents[1] and documents[0]
    managed_policies = [roles[f"{name}Role"]["Properties"]["ManagedPolicyArns"] for name in ROUTERS]
    assert managed_policies[0] == managed_policies[1]


def test_operator_role_is_lambdas_with_only_the_documented_managed_policy(managed):
    role = managed["expanded"]["Resources"]["RouterCapacityOperatorRole"]
    assert role["Condition"] == "RouterOnManagedInstances"
    properties = role["Properties"]
    assert properties["AssumeRolePolicyDocument"]["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert properties["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"}]
    assert not {"Policies", "PermissionsBoundary"} & set(properties), "nothing beyond the documented minimum"
    # No other role or policy in the stack names the operator policy or trusts Lambda to act on EC2.
    for name, resource in managed["expanded"]["Resources"].items():
        if name != "RouterCapacityOperatorRole":
            assert "AWSLambdaManagedEC2ResourceOperator" not in json.dumps(resource), name
            assert "ec2:" not in json.dumps(resource.get("Properties", {}).get("Policies", [])), name


def test_managed_instances_need_subnets_and_security_groups(template):
    rule = template["Rules"]["ManagedInstancesNeedANetwork"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "RouterCompute"}, "ManagedInstances"]}
    asserted = [a["Assert"] for a in rule["Assertions"]]
    assert asserted == [
        {"Fn::Not": [{"Fn::Contains": [{"Ref": "RouterSubnetIds"}, ""]}]},
        {"Fn::Not": [{"Fn::Contains": [{"Ref": "RouterSecurityGroupIds"}, ""]}]},
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "RouterMaxVCpus"}, "1"]}]},
    ]
    # The defaults are empty (on demand needs no VPC), which is exactly what the rule refuses.
    for name in ("RouterSubnetIds", "RouterSecurityGroupIds"):
        assert template["Parameters"][name]["Type"] == "CommaDelimitedList"
        assert template["Parameters"][name]["Default"] == ""


def test_the_managed_instances_choice_passes_cfn_lint_as_written_and_expanded(managed):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    for name in ("source.json", "expanded.json"):
        result = subprocess.run([str(cfn_lint), str(managed["dir"] / name)], capture_output=True, text=True)
        assert result.returncode == 0, name + "\n" + result.stdout + result.stderr


def test_choosing_an_unknown_parameter_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no parameter RouterComputer"):
        expand_sam.main(str(REPO / "template.yaml"), str(tmp_path / "x.json"), {"RouterComputer": "ManagedInstances"})


def test_the_vcpu_cap_is_set_only_when_given(template, managed):
    parameter = template["Parameters"]["RouterMaxVCpus"]
    assert parameter["Default"] == 0 and parameter["MaxValue"] == 15000
    scaling = managed["expanded"]["Resources"]["RouterCapacityProvider"]["Properties"]["CapacityProviderScalingConfig"]
    condition, capped, uncapped = scaling["Fn::If"]
    assert capped == {"ScalingMode": "Auto", "MaxVCpuCount": {"Ref": "RouterMaxVCpus"}}
    assert uncapped == {"Ref": "AWS::NoValue"}, "0 leaves Lambda's own scaling default"
    assert not _condition_holds(template, condition, MANAGED_CHOICE)
    assert _condition_holds(template, condition, {**MANAGED_CHOICE, "RouterMaxVCpus": "32"})


def test_the_documented_overrides_name_parameters_the_template_has(template):
    for doc in (REPO / "README.md", REPO / "docs" / "router.md"):
        text = doc.read_text()
        named = set(re.findall(r'"?\b(Router[A-Za-z]+)=', text))
        assert {"RouterCompute", "RouterSubnetIds", "RouterSecurityGroupIds"} <= named, doc.name
        assert named <= set(template["Parameters"]), (doc.name, named - set(template["Parameters"]))
