"""From scores to verdicts: a batch judged (decode, clean, score, threshold), the rules that
move thresholds and suppress alerts, and the explanations that name the span an alert is for."""
