"""Knowledge bases: spaCy triple extraction from simple English, text KB files, bAbI reader."""
