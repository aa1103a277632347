"""What a web service logged, read: input formats, strict JSON decoding, message lines, and the
one definition of a valid request log. Imports nothing else of logsentry but its errors."""
