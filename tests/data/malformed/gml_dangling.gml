graph [
  directed 1
  node [ id 1 label "a" ]
  edge [ source 1 target 2 label "x" ]
]
