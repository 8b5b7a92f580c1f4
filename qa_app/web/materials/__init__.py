"""Pages for materials and their lots: receiving, approval by signature, labels and scan checks."""
