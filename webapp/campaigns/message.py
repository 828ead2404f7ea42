"""SMS text: variables, encoding and segment counting, cost."""
import re

from webapp.providers.masking import encoding, segments

VARIABLE_RE = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")


def variables_in(template):
    return sorted(set(VARIABLE_RE.findall(template or "")))


def render(template, variables):
    """Plain substitution (never a template engine: message text comes from staff and contact data)."""
    return VARIABLE_RE.sub(lambda m: str(variables.get(m.group(1), "")), template or "")


def describe(text):
    """Encoding, character count and segments as the compose page shows them."""
    coding = encoding(text)
    parts = segments(text)
    single, multi = (160, 153) if coding == "GSM-7" else (70, 67)
    return {"encoding": coding, "length": len(text), "segments": parts, "per_segment": single if parts == 1 else multi}


__all__ = ["describe", "render", "segments", "variables_in"]
