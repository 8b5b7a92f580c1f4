"""The public verification of certificates of analysis, reached from their QR code."""
