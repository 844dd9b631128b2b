"""A labelled corpus of HER2 pathology reports for evaluating the narrative reader.

Written apart from the reader on purpose: nothing here imports ``connectors`` or ``rules``. Each report is
rendered from a :class:`tests.corpus.truth.Case` (what the laboratory found), and its label is computed from
that case by this package's own reading of ASCO/CAP 2018/2023 (``truth.label``), never from the reader.

``python -m tests.corpus.pathology_corpus OUT`` writes the corpus to a folder for
``her2-cds eval-pathology OUT``.
"""
