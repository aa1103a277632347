"""The network's side: the preprocessing every version carries (cleanup and tokenizer, the one
path training and serving share), the runtimes (ONNX Runtime, Keras) and the detector that
scores cleaned requests."""
