"""Prompts for the notebooks and `make demo`: representative, chosen once, documented.

``REPRESENTATIVE`` holds held-out prompts (never seen when the default draft was trained)
whose greedy acceptance rate lies closest to the pooled acceptance rate of all held-out prompts,
most typical first - so a first run shows what the draft usually does, neither its best case
nor its worst. ``bench/choose_prompts.py`` chose them (K = 5, 48 tokens, float32) and wrote
every prompt's alpha to ``bench/results/prompts.json``; a test keeps this list and that file
in step.
"""

REPRESENTATIVE = [
]
DEMO_PROMPT = REPRESENTATIVE[0] if REPRESENTATIVE else "Explain how a rainbow forms."
