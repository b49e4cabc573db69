"""The prompt set the default draft is distilled on, with a held-out split.

Three sources, all written for specviz or produced by the target itself:

* ``TASKS x TOPICS`` - task templates ("Explain {topic} to a ten-year-old.") crossed with topics.
  Whole topics are held out, so held-out prompts talk about things the draft never saw.
* self-instruct prompts - the target writes its own user turns when generation starts right
  after ``<|im_start|>user`` (the "Magpie" trick, Xu et al. 2024): cheap, diverse, and exactly the
  kind of request the target expects. Made by :func:`specviz.distill.data.self_instruct`.
* ``HELD_OUT`` - hand-written prompts of every style, used only for evaluation and benchmarks.
"""

from __future__ import annotations

import random

TASKS = [
    "Explain {topic} in simple terms.",
    "Explain {topic} to a ten-year-old.",
    "What is {topic}? Answer in two sentences.",
    "Give me three interesting facts about {topic}.",
    "Write a short poem about {topic}.",
    "Write a haiku about {topic}.",
    "Write a short story that involves {topic}.",
    "List the pros and cons of {topic}.",
    "What are the most common misconceptions about {topic}?",
    "Summarize the history of {topic} in a paragraph.",
    "How would you teach {topic} to a beginner? Give a step-by-step plan.",
    "Write a tweet about {topic}.",
    "Write a formal email to a colleague about {topic}.",
    "Write a product description for something related to {topic}.",
    "Give me five quiz questions about {topic}, with answers.",
    "Compare {topic} with something similar and explain the differences.",
    "Why is {topic} important?",
    "What are the main challenges related to {topic}?",
    "Describe {topic} using an analogy.",
    "Write a dialogue between a teacher and a student about {topic}.",
    "What would a world without {topic} look like?",
    "Give me a checklist for getting started with {topic}.",
    "Write the opening paragraph of a blog post about {topic}.",
    "Suggest three research questions about {topic}.",
    "Explain {topic} in one sentence, then in one paragraph.",
    "What careers are connected to {topic}?",
    "Write a limerick about {topic}.",
    "Define {topic} and give an example.",
    "What should every student know about {topic}?",
    "Write a short speech for a school assembly about {topic}.",
    "Create a simple lesson plan about {topic}.",
    "Give me tips for explaining {topic} at a dinner party.",
    "Write a news headline and a short article about {topic}.",
    "How has {topic} changed over the last hundred years?",
    "Tell me a joke about {topic}.",
    "Write a list of do's and don'ts for {topic}.",
]

TOPICS = [
    "photosynthesis", "black holes", "the water cycle", "volcanoes", "climate change",
    "the immune system", "vaccines", "DNA", "evolution", "plate tectonics", "the moon",
    "solar energy", "wind power", "electric cars", "recycling", "coral reefs", "rainforests",
    "bees", "sleep", "meditation", "nutrition", "running", "yoga", "chess", "football",
    "the Olympic Games", "jazz music", "the piano", "painting", "photography", "poetry",
    "Shakespeare", "the Roman Empire", "ancient Egypt", "the printing press", "the internet",
    "smartphones", "social media", "artificial intelligence", "machine learning",
    "neural networks", "computer programming", "Python", "databases", "cybersecurity",
    "passwords", "cloud computing", "video games", "robots", "space exploration", "Mars",
    "the solar system", "gravity", "electricity", "magnets", "light", "sound", "atoms",
    "chemistry", "algebra", "prime numbers", "fractions", "probability", "statistics",
    "geometry", "the Pythagorean theorem", "money", "saving money", "inflation", "banks",
    "taxes", "entrepreneurship", "marketing", "job interviews", "public speaking",
    "time management", "teamwork", "leadership", "friendship", "kindness", "happiness",
    "learning a language", "reading books", "libraries", "museums", "travel", "Japan",
    "Italy", "Brazil", "the Amazon river", "mountains", "oceans", "deserts", "weather",
    "hurricanes", "earthquakes", "dinosaurs", "cats", "dogs", "birds", "whales", "gardening",
    "cooking pasta", "baking bread", "coffee", "tea", "chocolate", "healthy breakfast",
    "drinking water", "first aid", "exercise", "the heart", "the brain", "memory",
    "habits", "motivation", "stress", "volunteering", "democracy", "elections",
    "human rights", "the United Nations", "architecture", "bridges", "trains", "airplanes",
    "bicycles", "cities", "farming", "the history of writing", "mathematics", "philosophy",
    "ethics", "the scientific method", "measuring time", "calendars", "maps", "the compass",
]

# Topics whose prompts never reach training: the held-out split talks about unseen things.
HELD_OUT_TOPICS = [
    "glaciers", "tigers", "origami", "the violin", "submarines", "the Renaissance",
    "honey", "telescopes", "marathons", "podcasts", "sushi", "lighthouses",
]

# Written for evaluation and benchmarks only; every style the notebooks show.
HELD_OUT = [
    "What is the capital of France?",
    "Write a short poem about the sea.",
    "Explain how a rainbow forms.",
    "Give me three tips for learning to cook.",
    "What is 12 times 7? Explain your reasoning.",
    "Write a Python function that returns the largest number in a list.",
    "Summarize the plot of Romeo and Juliet in three sentences.",
    "What are the benefits of regular exercise?",
    "Translate 'good morning, how are you?' into Spanish.",
    "Write a thank-you note to a friend who helped me move.",
    "Why is the sky blue?",
    "List five animals that live in the Arctic.",
    "How do I make a cup of tea?",
    "What is the difference between weather and climate?",
    "Tell me a story about a robot who learns to paint.",
    "Explain what a computer virus is.",
    "What should I pack for a weekend camping trip?",
    "Describe the taste of a lemon to someone who has never had one.",
    "What are the three states of matter?",
    "Write a short motivational message for a student before an exam.",
    "How does a bicycle stay upright?",
    "Give me a recipe for a simple salad.",
    "What is the Pythagorean theorem?",
    "Explain the rules of tic-tac-toe.",
]

# Prompts whose answers copy from the prompt: where prompt lookup shines (benchmarks, notebook 07).
COPY_PROMPTS = [
    "Fix the spelling in this sentence and write it out again: 'The quick brown fox jumpd over "
    "the lazy dog becuase it was in a hury to get home before dark.'",
    "Rewrite this list in alphabetical order, one item per line: banana, cherry, apple, mango, "
    "grape, kiwi, lemon, orange.",
    "Copy this sentence exactly, then translate it into French: 'The library opens at nine "
    "o'clock every morning except on Sundays.'",
    "Turn these notes into full sentences: meeting moved to Tuesday; bring the budget report; "
    "lunch will be provided; the room is on the third floor.",
    "Here is a Python function: def add(a, b): return a + b. Rewrite it with type hints and a "
    "docstring.",
    "Repeat the following address on separate lines: 221B Baker Street, London, NW1 6XE, "
    "United Kingdom.",
    "Extract every number from this text and list them: 'In 2019 the town had 4,500 people, "
    "3 schools and 12 shops; by 2023 it had 5,200 people and 15 shops.'",
    "Change every 'cat' to 'dog' in this sentence: 'The cat sat near the cat door while "
    "another cat watched the cat food bowl.'",
]


def task_prompts(held_out: bool = False) -> list[str]:
    """All TASKS x topics for the training topics, or for the held-out ones."""
    topics = HELD_OUT_TOPICS if held_out else TOPICS
    return [task.format(topic=topic) for topic in topics for task in TASKS]


def training_prompts(n: int | None = None, seed: int = 0) -> list[str]:
    """A shuffled list of task prompts on training topics (``n`` of them, or all)."""
    prompts = task_prompts(held_out=False)
    random.Random(seed).shuffle(prompts)
    return prompts if n is None else prompts[:n]


def held_out_prompts(n: int | None = None, seed: int = 0) -> list[str]:
    """Hand-written held-out prompts first, then task prompts on held-out topics."""
    extra = task_prompts(held_out=True)
    random.Random(seed).shuffle(extra)
    prompts = HELD_OUT + extra
    return prompts if n is None else prompts[:n]
