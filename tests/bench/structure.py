"""Structure figures of a checkout: files and their sizes, handler files, the gateway schema's
boilerplate (method fields, one-`return` DTO readers, Connection classes, Strawberry enums,
imports inside functions) and kernel imports of the layers above it.

Run from a checkout's root (any revision: `git worktree add --detach /tmp/x REV`):
`python3 -m tests.bench.structure`. Reads files only."""

import ast
import pathlib
import statistics

tops = [d for d in ("shared", "services", "gateway", "ops") if pathlib.Path(d).is_dir()]
files = [p for d in tops for p in pathlib.Path(d).rglob("*.py")]
raw = {p: len(p.read_text().splitlines()) for p in files}


def code_lines(p: pathlib.Path) -> int:
    return sum(1 for line in p.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))


code = {p: code_lines(p) for p in files}
print(f"files {len(files)}; lines {sum(raw.values())}; code lines (non-blank, non-comment) {sum(code.values())}")
print(
    f"median file {statistics.median(raw.values())} lines; over 250: {sum(v > 250 for v in raw.values())}; "
    f"over 300: {sum(v > 300 for v in raw.values())}; over 500: {sum(v > 500 for v in raw.values())}"
)
print("  largest:", ", ".join(f"{p} {v}" for v, p in sorted(((v, str(p)) for p, v in raw.items()), reverse=True)[:8]))
hs = sorted((raw[p], str(p)) for p in files if "/handlers" in str(p) and not str(p).endswith("__init__.py"))
print(f"handler files: {len(hs)}, largest {hs[-1] if hs else None}")
gs = [p for p in files if str(p).startswith("gateway/schema")]
print(f"gateway/schema: {len(gs)} files, {sum(raw[p] for p in gs)} lines ({sum(code[p] for p in gs)} code lines)")
# method fields and one-line DTO readers in the gateway schema
fields = readers = 0
for p in gs:
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            "strawberry.field" in ast.unparse(d) for d in node.decorator_list
        ):
            fields += 1
            body = [b for b in node.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.Return) and "self.dto" in ast.unparse(body[0]):
                readers += 1
print(f"gateway schema method fields {fields}, of which one-return DTO readers {readers}")
conn = sum(
    1
    for p in files
    if str(p).startswith("gateway")
    for line in p.read_text().splitlines()
    if line.startswith("class ") and "Connection" in line.split("(")[0]
)
enums = sum(p.read_text().count("@strawberry.enum") for p in files if str(p).startswith("gateway"))
print(f"Connection classes {conn}; @strawberry.enum in gateway {enums}")
inner = sum(
    1
    for p in gs
    for line in p.read_text().splitlines()
    if line.startswith((" ", "\t")) and line.strip().startswith(("from gateway", "import gateway"))
)
print(f"imports of gateway modules inside functions/blocks in gateway/schema: {inner}")
up = []
for p in files:
    top = str(p).split("/")[0]
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            m = node.module.split(".")[0]
            if top == "shared" and m in ("services", "gateway", "ops"):
                up.append((str(p), node.module))
print(f"kernel (shared/) imports of services/gateway/ops: {len(up)}")
