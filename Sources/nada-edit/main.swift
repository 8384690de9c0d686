import NadaEditCLI

NadaEdit.main()
