"""The engine: the rule as pure functions, the loop that drafts, verifies and records, KV
caches, drafters, model loading and the plain-data Trace. The only part that imports torch
(with specviz.distill and parts of measure)."""
