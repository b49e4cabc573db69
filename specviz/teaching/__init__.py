"""Formulas (Leviathan et al. 2023, Chen et al. 2023), worked solutions, exercises, exam
questions and marking, simulations of the rule on hand-made distributions. No torch."""
