"""Review and release of batches, certificates, the compounding record, and certificate exports."""
