"""The Databricks Terraform provider's schema, read from the generated bindings of the npm package
`@cdktf/provider-databricks`, and a validator of Terraform JSON against it.

    python tests/py/tf_schema.py extract PKG TYPE...   > schema.json  (attribute trees)
    python tests/py/tf_schema.py validate PKG DIR                    (every *.tf.json in DIR)

Each resource's `index.js` (and its `index-structs/*.js`) says, for every attribute of the
resource and of each nested block, its Terraform name, whether it is a block, and its type
(`simple`, `list`, `set`, `map`, `struct`); nested blocks name the function that renders them.
`validate` checks that every resource type, attribute and nested block in DIR exists there, that
values have the right shape, and that every `${databricks_<type>.<name>.<attr>}` reference names
a resource declared in DIR, and an attribute the resource has or computes. It prints a JSON report and exits 1 on any problem.
"""
import bisect
import glob
import json
import os
import re
import sys

ENTRY = re.compile(
    r'^[ \t]+(\w+): \{\n[ \t]+value: (.*),\n[ \t]+isBlock: (true|false),\n[ \t]+type: "(\w+)",\n[ \t]+storageClassType: "(\w+)",',
    re.M)
FUNC = re.compile(r'^function (\w+)ToHclTerraform\(struct\) \{', re.M)
CLASS_TYPE = re.compile(r'\.tfResourceType = "(databricks_\w+)";')
META = {"depends_on", "lifecycle", "provider", "count", "for_each"}


def attrs_of(text):
    out = {}
    for m in ENTRY.finditer(text):
        name, value, is_block, typ = m.group(1), m.group(2), m.group(3) == "true", m.group(4)
        ref = re.search(r"(\w+)ToHclTerraform", value.replace("cdktf.", "cdktf_"))
        out[name] = {"block": is_block, "type": typ, "fn": ref.group(1) if ref and not ref.group(1).startswith("cdktf_") else None}
    return out


def load(pkg):
    """{resource type: tree}, tree = {attr: {"block", "type", "children"}}."""
    funcs, resources = {}, {}
    for d in sorted(glob.glob(os.path.join(pkg, "lib", "*"))):
        files = [os.path.join(d, "index.js")] + sorted(glob.glob(os.path.join(d, "index-structs", "*.js")))
        for path in files:
            if not os.path.exists(path):
                continue
            text = open(path, encoding="utf-8").read()
            starts = [(m.start(), m.group(1)) for m in FUNC.finditer(text)]
            classes = [m.start() for m in re.finditer(r"^class ", text, re.M)] + [len(text)]
            for i, (pos, name) in enumerate(starts):
                end = classes[bisect.bisect_left(classes, pos)]
                nxt = starts[i + 1][0] if i + 1 < len(starts) else len(text)
                funcs[name] = attrs_of(text[pos:min(nxt, end)])
            for m in CLASS_TYPE.finditer(text):
                pos = text.find("synthesizeHclAttributes() {")
                if pos != -1:
                    end = text.find("return Object.fromEntries", pos)
                    resources[m.group(1)] = attrs_of(text[pos:end])

    memo = {}

    def tree(attrs, path=()):
        out = {}
        for k, a in attrs.items():
            node = {"block": a["block"], "type": a["type"]}
            fn = a["fn"]
            if fn and fn in funcs:
                if fn in path:
                    node["children"] = {"$recursive": fn}  # e.g. a for_each task's task
                elif fn in memo:
                    node["children"] = memo[fn]
                else:
                    memo[fn] = node["children"] = tree(funcs[fn], path + (fn,))
            out[k] = node
        return out

    return {t: tree(a) for t, a in resources.items()}


def readable(pkg):
    """{resource type: attributes its class reads back}, computed ones included (what
    `${type.name.attr}` may name): the `get*Attribute('attr')` calls of its `index.js`."""
    out = {}
    for path in glob.glob(os.path.join(pkg, "lib", "*", "index.js")):
        text = open(path, encoding="utf-8").read()
        m = CLASS_TYPE.search(text)
        if m:
            out[m.group(1)] = set(re.findall(r"this\.get\w*Attribute\('(\w+)'\)", text))
    return out


def check(node_tree, value, where, problems):
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {type(value).__name__}")
        return
    for k, v in value.items():
        if k in META and where.count(".") == 1:
            continue
        node = node_tree.get(k)
        if node is None:
            problems.append(f"{where}.{k}: no such attribute or block")
            continue
        if node.get("children") is not None:
            for i, item in enumerate(v if isinstance(v, list) else [v]):
                check(node["children"], item, f"{where}.{k}[{i}]", problems)
        elif node["type"] == "map" and not isinstance(v, dict):
            problems.append(f"{where}.{k}: expected a map")
        elif node["type"] in ("list", "set") and not isinstance(v, list):
            problems.append(f"{where}.{k}: expected a list")
        elif node["type"] == "simple" and isinstance(v, (dict, list)):
            problems.append(f"{where}.{k}: expected a single value")


REF = re.compile(r"\$\{(databricks_\w+)\.([A-Za-z_][\w-]*)\.(\w+)\}")


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def validate(pkg, directory):
    schema, reads = load(pkg), readable(pkg)
    problems, declared, refs, counts = [], set(), [], {}
    for path in sorted(glob.glob(os.path.join(directory, "*.tf.json"))):
        doc = json.load(open(path, encoding="utf-8"))
        for typ, by_name in doc.get("resource", {}).items():
            if typ not in schema:
                problems.append(f"{os.path.basename(path)}: unknown resource type {typ}")
                continue
            for name, body in by_name.items():
                if not re.fullmatch(r"[A-Za-z_][\w-]*", name):
                    problems.append(f"{typ}.{name}: not a valid resource name")
                declared.add((typ, name))
                counts[typ] = counts.get(typ, 0) + 1
                check(schema[typ], body, f"{typ}.{name}", problems)
                refs += [(typ, name, m.groups()) for s in strings(body) for m in REF.finditer(s)]
    for typ, name, (rt, rn, attr) in refs:
        if (rt, rn) not in declared:
            problems.append(f"{typ}.{name}: reference to undeclared {rt}.{rn}")
        elif attr not in ("id", "name") and attr not in schema.get(rt, {}) and attr not in reads.get(rt, ()):
            problems.append(f"{typ}.{name}: reference to unknown attribute {rt}.{rn}.{attr}")
    return {"ok": not problems, "problems": problems, "resources": counts, "references": len(refs)}


def main():
    cmd, pkg = sys.argv[1], sys.argv[2]
    if cmd == "extract":
        schema = load(pkg)
        want = sys.argv[3:]
        missing = [t for t in want if t not in schema]
        if missing:
            sys.exit(f"not in the package: {missing}")
        json.dump({t: schema[t] for t in want}, sys.stdout, sort_keys=True, separators=(",", ":"))
        sys.stdout.write("\n")
    elif cmd == "validate":
        report = validate(pkg, sys.argv[3])
        print(json.dumps(report))
        sys.exit(0 if report["ok"] else 1)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
