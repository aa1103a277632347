"""One module per subcommand of ``logsentry``: each holds ``add_parser(subparsers, parents)``, its flags,
and ``run(args)``, which parses what argparse cannot, builds settings and calls the library.

Heavy modules (TensorFlow, Kafka clients) are imported inside ``run``, so ``logsentry models list``
answers at once and ``logsentry stream`` loads no deep-learning code until it needs a model.
"""
