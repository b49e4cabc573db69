"""Prompts for the notebooks and `make demo`: representative, chosen once, documented.

``REPRESENTATIVE`` holds held-out prompts (never seen when the default draft was trained)
whose greedy acceptance rate lies closest to the pooled acceptance rate of all held-out prompts,
most typical first - so a first run shows what the draft usually does, neither its best case
nor its worst. ``bench/choose_prompts.py`` chose them (K = 5, 48 tokens, float32) and wrote
every prompt's alpha to ``bench/results/prompts.json``; a test keeps this list and that file
in step.
"""

# greedy alpha 0.40-0.49 against the pooled held-out 0.44 (bench/results/prompts.json)
REPRESENTATIVE = [
    "What should I pack for a weekend camping trip?",
    "Give me three tips for learning to cook.",
    "Explain what a computer virus is.",
    "What are the benefits of regular exercise?",
    "Tell me a story about a robot who learns to paint.",
    "Describe the taste of a lemon to someone who has never had one.",
    "Explain the rules of tic-tac-toe.",
    "Write a Python function that returns the largest number in a list.",
]
DEMO_PROMPT = REPRESENTATIVE[0]
