"""The paired HER2 PET / biopsy cohort analysis behind ``her2-cds cohort`` (docs/cohort.md).

- ``collect``: PT series of the DICOM source → analysed HER2 PET exams per patient, linked to pathology
  (``pathology``: FHIR bundle folder or FHIR server), keyed at once (``keys``);
- ``pairing`` (pure): biopsy ↔ PET lesion at the same coded site within the window, HER2 category by the
  rules engine, or an exclusion with its reason;
- ``statistics`` (pure): counts, SUVmax quartiles and Mann–Whitney U; ``outputs`` and ``plot``: the files;
- ``synthetic`` and ``synthetic_fhir``: the synthetic cohort of the tests and the demo.
"""
