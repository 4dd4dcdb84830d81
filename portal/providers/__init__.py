"""External systems behind small interfaces; see base.py for the contracts and error taxonomy."""
