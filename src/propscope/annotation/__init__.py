"""The annotation round trip: the model's spans out to an annotation tool (Label Studio,
doccano, INCEpTION, displaCy) and a reviewer's corrections back in as a human layer.

Every tool format reads into and writes from the same neutral records (`records.py`), so the
store, the agreement figures and retraining never see a tool's own format.
"""
