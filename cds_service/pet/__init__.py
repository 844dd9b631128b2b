"""PET for the hooks: patient-to-DICOM links, stored analyses, and the analysis jobs run ahead of any hook."""
