"""The IAM statements and event patterns a SAM template grants, for given parameter values.

    python tests/py/cfn_policies.py TEMPLATE PARAMS.json

Reads the template (YAML with CloudFormation's short tags: !Ref, !Sub, !GetAtt, !If...),
takes parameter values from PARAMS.json (an object; unset parameters take their Default, and
CommaDelimitedList values are split on commas as CloudFormation splits them), evaluates the
Conditions, and resolves the intrinsic functions the template uses (Ref, Fn::Sub, Fn::Join,
Fn::Split, Fn::Select, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, Fn::GetAtt;
AWS::NoValue drops the value). Resources whose Condition is false are left out.

Prints JSON:
  {"statements": [{"resource": LOGICAL_ID, "sid": ..., "effect": ..., "action": [...],
                   "resource_arns": [...]}, ...],
   "event_patterns": {LOGICAL_ID: PATTERN, ...}}
with the statements of every AWS::Serverless::Function's inline `Policies` and of every
AWS::IAM::Role's `Policies`, actions and resources always as lists. GetAtt of a resource is
`arn:aws:<type>:::<LogicalId>` (a resource of this stack, not a bucket). Standard library plus
PyYAML.
"""
import json
import sys

import yaml

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "lakedr",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


class Tag:
    def __init__(self, name, value):
        self.name, self.value = name, value


def _construct(tag):
    def f(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return Tag(tag, value)
    return f


class Loader(yaml.SafeLoader):
    pass


for t in ["Ref", "Sub", "GetAtt", "Join", "Split", "Select", "If", "Equals", "Not", "And", "Or",
          "Condition", "FindInMap", "Base64", "GetAZs", "ImportValue"]:
    Loader.add_constructor("!" + t, _construct(t))


def untag(v):
    """Short tags to their long forms (`{"Fn::Sub": ...}`, `{"Ref": ...}`)."""
    if isinstance(v, Tag):
        inner = untag(v.value)
        if v.name == "Ref":
            return {"Ref": inner}
        if v.name == "Condition":
            return {"Condition": inner}
        if v.name == "GetAtt" and isinstance(inner, str):
            inner = inner.split(".", 1)
        return {"Fn::" + v.name: inner}
    if isinstance(v, dict):
        return {k: untag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untag(x) for x in v]
    return v


class Resolver:
    def __init__(self, template, params):
        self.t = template
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in params:
                value = params[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise SystemExit(f"parameter {name} has no value and no default")
            if spec.get("Type") == "CommaDelimitedList":
                value = value if isinstance(value, list) else str(value).split(",")
            self.params[name] = value
        self.conditions = {}
        for name in template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.eval(self.t["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        if name in self.t.get("Resources", {}):
            return f"ref:{name}"
        raise SystemExit(f"Ref to unknown {name}")

    def sub(self, text, variables):
        out, i = [], 0
        while i < len(text):
            j = text.find("${", i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            k = text.index("}", j)
            name = text[j + 2:k]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                out.append(self.getatt(name.split(".", 1)))
            else:
                v = self.ref(name)
                if isinstance(v, list):
                    raise SystemExit(f"Fn::Sub of list parameter {name}")
                out.append(str(v))
            i = k + 1
        return "".join(out)

    def getatt(self, parts):
        logical = parts[0]
        kind = self.t["Resources"][logical]["Type"].split("::")[1].lower()
        return f"arn:aws:{kind}:::{logical}"

    def eval(self, v):
        if isinstance(v, list):
            out = [self.eval(x) for x in v]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                return self.ref(a)
            if k == "Condition":
                return self.condition(a)
            if k == "Fn::Sub":
                if isinstance(a, list):
                    variables = {n: self.eval(x) for n, x in a[1].items()}
                    return self.sub(a[0], variables)
                return self.sub(a, {})
            if k == "Fn::Join":
                delim, items = a[0], self.eval(a[1])
                return delim.join(str(x) for x in items)
            if k == "Fn::Split":
                return str(self.eval(a[1])).split(a[0])
            if k == "Fn::Select":
                return self.eval(a[1])[int(self.eval(a[0]))]
            if k == "Fn::If":
                return self.eval(a[1] if self.condition(a[0]) else a[2])
            if k == "Fn::Equals":
                return self.eval(a[0]) == self.eval(a[1])
            if k == "Fn::Not":
                return not self.eval(a[0])
            if k == "Fn::And":
                return all(self.eval(x) for x in a)
            if k == "Fn::Or":
                return any(self.eval(x) for x in a)
            if k == "Fn::GetAtt":
                return self.getatt(a)
        out = {}
        for key, x in v.items():
            r = self.eval(x)
            if r is not NO_VALUE:
                out[key] = r
        return out


def as_list(v):
    return v if isinstance(v, list) else [v]


def main(argv):
    template = untag(yaml.load(open(argv[0], encoding="utf-8"), Loader=Loader))
    params = json.load(open(argv[1], encoding="utf-8"))
    r = Resolver(template, params)
    statements, patterns = [], {}
    for logical, res in template["Resources"].items():
        if "Condition" in res and not r.condition(res["Condition"]):
            continue
        props = res.get("Properties", {})
        docs = []
        if res["Type"] == "AWS::Serverless::Function":
            for p in r.eval(props.get("Policies", [])):
                if isinstance(p, dict) and "Statement" in p:
                    docs.append(p)
                else:
                    raise SystemExit(f"{logical}: policy {p!r} is not an inline statement list")
        elif res["Type"] == "AWS::IAM::Role":
            for p in r.eval(props.get("Policies", [])):
                docs.append(p["PolicyDocument"])
        elif res["Type"] == "AWS::Events::Rule":
            patterns[logical] = r.eval(props.get("EventPattern"))
        if res["Type"] == "AWS::Serverless::Function":
            for name, ev in props.get("Events", {}).items():
                if ev.get("Type") == "EventBridgeRule":
                    patterns[f"{logical}.{name}"] = r.eval(ev["Properties"]["Pattern"])
        for d in docs:
            for s in d["Statement"]:
                statements.append({
                    "resource": logical,
                    "sid": s.get("Sid"),
                    "effect": s.get("Effect"),
                    "action": as_list(s.get("Action", [])),
                    "resource_arns": as_list(s.get("Resource", [])),
                })
    json.dump({"statements": statements, "event_patterns": patterns}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
