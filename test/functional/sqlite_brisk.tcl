# Sourced by SQLite's test/tester.tcl (hook added by scripts/sqlite_src.sh)
# when BRISK_SQLITE_TCL names this file: runs SQLite's TCL suite on the brisk
# VFS. The suite handles test.db and its journals with Tcl's [file] (delete
# between tests, copy for hot-journal tests, size for growth checks); on the
# brisk VFS those files are on the store, so [file exists|size|delete|copy|
# rename] also act there, through the VFS's brisk_file() SQL function.
if {[info commands ::brisk_real_file] eq ""} {
  rename ::file ::brisk_real_file

  # brisk_file(op, path [, to]) on a short-lived in-memory connection.
  proc ::brisk_fs {op path {to ""}} {
    sqlite3 ::brisk_fs_db :memory:
    if {$to eq ""} {
      set r [::brisk_fs_db onecolumn {SELECT brisk_file($op, $path)}]
    } else {
      set r [::brisk_fs_db onecolumn {SELECT brisk_file($op, $path, $to)}]
    }
    ::brisk_fs_db close
    return $r
  }

  # Splits [file copy/rename/delete] arguments into options and paths.
  proc ::brisk_fs_paths {argl} {
    set paths {}
    set seen_end 0
    foreach a $argl {
      if {!$seen_end && ($a eq "-force" || $a eq "--")} {
        if {$a eq "--"} { set seen_end 1 }
        continue
      }
      lappend paths $a
    }
    return $paths
  }

  proc ::brisk_fs_move {sub argl} {
    lassign [::brisk_fs_paths $argl] from to
    if {[::brisk_real_file isdirectory $to]} {
      set to [::brisk_real_file join $to [::brisk_real_file tail $from]]
    }
    if {![::brisk_fs $sub $from $to]} {
      error "error ${sub}ing \"$from\" to \"$to\" on the brisk store"
    }
    return ""
  }

  proc ::file {sub args} {
    switch -- $sub {
      exists {
        if {[::brisk_real_file exists {*}$args]} { return 1 }
        return [::brisk_fs exists [lindex $args 0]]
      }
      size {
        set s [::brisk_fs size [lindex $args 0]]
        if {$s ne ""} { return $s }
      }
      delete {
        foreach p [::brisk_fs_paths $args] { ::brisk_fs delete $p }
      }
      copy - rename {
        set paths [::brisk_fs_paths $args]
        if {[llength $paths] == 2 && [::brisk_fs exists [lindex $paths 0]]} {
          return [::brisk_fs_move $sub $args]
        }
      }
    }
    return [uplevel 1 [list ::brisk_real_file $sub {*}$args]]
  }
}
