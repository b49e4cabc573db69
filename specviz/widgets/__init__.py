"""The ipywidgets of the notebooks: they read traces (and, for the K explorer, run the engine
inside their button callbacks). Never import torch at import time.

    from specviz import RoundPlayer      # or specviz.widgets.round_player.RoundPlayer
    RoundPlayer(trace)
"""
